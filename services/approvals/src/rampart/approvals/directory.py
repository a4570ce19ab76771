"""Who an assignee or an SLA's owner is: owners and group members, read from the asset
registry's API."""

from __future__ import annotations

from typing import Protocol
from uuid import UUID

from rampart.core.errors import PermanentError
from rampart.core.registry_client import RegistryClient


class OwnerDirectory(Protocol):
    """Expands an owner id to the people who decide for it."""

    async def people(self, owner_id: UUID) -> list[UUID]:
        """The owner itself if it is a person, else the group's members."""
        ...

    async def named(self, name: str) -> UUID | None:
        """The id of the owner (person or group) of that name; None if no owner has it."""
        ...


class HttpOwnerDirectory:
    """The asset registry's owners, through the shared registry client.

    ``PermanentError`` for an id that is no owner; ``UnavailableError`` (a ``TransientError``)
    when the registry cannot answer now.
    """

    def __init__(self, registry: RegistryClient) -> None:
        self._registry = registry

    async def people(self, owner_id: UUID) -> list[UUID]:
        """The owner itself if it is a person, else the group's members."""
        owner = await self._registry.owner(owner_id)
        if owner is None:
            raise PermanentError(f"approval assignee {owner_id} is not an owner")
        if owner["kind"] == "person":
            return [UUID(owner["id"])]
        return [UUID(m) for m in owner["members"]]

    async def named(self, name: str) -> UUID | None:
        """The id of the owner (person or group) of that name; None if no owner has it."""
        owner = await self._registry.owner_named(name)
        return None if owner is None else UUID(owner["id"])
