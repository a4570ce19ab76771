"""Who an assignee is: owners and group members, read from the asset registry's API."""

from __future__ import annotations

from typing import Any, Protocol
from uuid import UUID

import httpx

from rampart.core.errors import PermanentError, TransientError


class OwnerDirectory(Protocol):
    """Expands an owner id to the people who decide for it."""

    async def people(self, owner_id: UUID) -> list[UUID]:
        """The owner itself if it is a person, else the group's members."""
        ...


class HttpOwnerDirectory:
    """The asset registry's owners, over its HTTP API with the service token."""

    def __init__(self, client: httpx.AsyncClient, *, token: str | None) -> None:
        self._client = client
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}

    async def people(self, owner_id: UUID) -> list[UUID]:
        """The owner itself if it is a person, else the group's members."""
        try:
            response = await self._client.get(f"/api/v1/owners/{owner_id}", headers=self._headers)
        except httpx.HTTPError as exc:
            raise TransientError(f"the asset registry is unreachable: {exc}") from exc
        if response.status_code == 404:
            raise PermanentError(f"approval assignee {owner_id} is not an owner")
        if response.status_code >= 500 or response.status_code == 429:
            raise TransientError(f"the asset registry answered {response.status_code}")
        if response.status_code != 200:
            raise PermanentError(
                f"the asset registry refused owner {owner_id}: {response.status_code}"
            )
        owner: dict[str, Any] = response.json()
        if owner["kind"] == "person":
            return [UUID(owner["id"])]
        return [UUID(m) for m in owner["members"]]
