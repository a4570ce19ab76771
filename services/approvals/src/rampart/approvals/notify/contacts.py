"""Where an owner is reached, read from the asset registry's API (never its tables)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol
from uuid import UUID

from rampart.core.errors import PermanentError
from rampart.core.registry_client import RegistryClient

Channel = Literal["email", "slack", "teams", "webhook"]
ORDER: tuple[Channel, ...] = ("email", "slack", "teams", "webhook")
"""The order an owner's channels are tried in: the next one takes over when one keeps failing."""


@dataclass(frozen=True, slots=True)
class Contact:
    """An owner's name and addresses."""

    name: str
    email: str | None = None
    slack: str | None = None
    teams: str | None = None
    webhook: str | None = None

    def channels(self) -> list[tuple[Channel, str]]:
        """The owner's channels with their address, in the order they are tried."""
        found: dict[Channel, str | None] = {
            "email": self.email,
            "slack": self.slack,
            "teams": self.teams,
            "webhook": self.webhook,
        }
        return [(c, address) for c in ORDER if (address := found[c])]


class ContactBook(Protocol):
    """Looks an owner's contact up."""

    async def contact(self, owner_id: UUID) -> Contact:
        """The owner's contact; ``PermanentError`` if there is no such owner."""
        ...


class HttpContactBook:
    """Owners' contacts over the asset registry's HTTP API, through the shared registry client.

    ``UnavailableError`` (a ``TransientError``) while the registry cannot answer.
    """

    def __init__(self, registry: RegistryClient) -> None:
        self._registry = registry

    async def contact(self, owner_id: UUID) -> Contact:
        """The owner's contact; ``PermanentError`` if there is no such owner."""
        owner = await self._registry.owner(owner_id)
        if owner is None:
            raise PermanentError(f"{owner_id} is not an owner")
        return Contact(
            name=str(owner.get("name") or owner_id),
            email=owner.get("email"),
            slack=owner.get("slack_webhook_url"),
            teams=owner.get("teams_webhook_url"),
            webhook=owner.get("webhook_url"),
        )
