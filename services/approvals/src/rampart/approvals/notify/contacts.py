"""Where an owner is reached, read from the asset registry's API (never its tables)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol
from uuid import UUID

import httpx

from rampart.core.errors import PermanentError, TransientError

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
    """Owners' contacts over the asset registry's HTTP API, with the service token."""

    def __init__(self, client: httpx.AsyncClient, *, token: str | None) -> None:
        self._client = client
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}

    async def contact(self, owner_id: UUID) -> Contact:
        """The owner's contact; ``TransientError`` while the registry cannot answer."""
        try:
            response = await self._client.get(f"/api/v1/owners/{owner_id}", headers=self._headers)
        except httpx.HTTPError as exc:
            raise TransientError(f"the asset registry is unreachable: {exc}") from exc
        if response.status_code == 404:
            raise PermanentError(f"{owner_id} is not an owner")
        if response.status_code != 200:
            raise TransientError(f"the asset registry answered {response.status_code}")
        owner: dict[str, Any] = response.json()
        return Contact(
            name=str(owner.get("name") or owner_id),
            email=owner.get("email"),
            slack=owner.get("slack_webhook_url"),
            teams=owner.get("teams_webhook_url"),
            webhook=owner.get("webhook_url"),
        )
