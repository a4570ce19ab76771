"""The asset registry as the other services reach it: its HTTP API, with the service token.

The broker resolves targets and fetches sealed configurations, approvals expands owners to
people, the engine answers ``ctx.assets``: all through this one client, so they agree on what
an unreachable registry means. It raises ``UnavailableError`` (503 from a route; on the bus a
``TransientError``, so the message is delivered again later) when the registry cannot be
reached, times out, is starting, overloaded or does not know our token yet; ``PermanentError``
when it refuses the question itself, which asking again cannot change.

```python
async with open_registry_client(resources.settings) as registry:
    assets = await registry.assets(tag="edge")
```

Every service calls it with the same timeout, ``RAMPART_REGISTRY_TIMEOUT_S``, and the same
retry policy: none in the client; an ``UnavailableError`` fails the message (delivered again
after the bus's retry delay) or the request (503, for the caller to try again).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import httpx

from rampart.core.errors import PermanentError, UnavailableError
from rampart.core.settings import Settings

__all__ = ["RegistryClient", "open_registry_client"]

_RETRY_LATER = frozenset({401, 403, 408, 425, 429})
"""Answers a later call may not get: a token not known yet, a timeout, too many requests."""


class RegistryClient:
    """Calls of the asset registry's API, each answered or raising what went wrong."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def _get(self, path: str, params: dict[str, Any] | None = None) -> httpx.Response | None:
        """The 200 answer to ``GET path``; None for a 404."""
        try:
            response = await self._client.get(path, params=params)
        except httpx.HTTPError as exc:  # refused, reset, timed out, no free connection
            raise UnavailableError(
                f"the asset registry could not be reached: {type(exc).__name__}: {exc}"
            ) from exc
        if response.status_code == 200:
            return response
        if response.status_code == 404:
            return None
        if response.status_code >= 500 or response.status_code in _RETRY_LATER:
            raise UnavailableError(
                f"the asset registry answered {response.status_code} to GET {path}: "
                f"{response.text[:200]}"
            )
        raise PermanentError(
            f"the asset registry refused GET {path} with {response.status_code}: "
            f"{response.text[:200]}"
        )

    async def assets(
        self,
        *,
        name: str | None = None,
        tag: str | None = None,
        product: str | None = None,
        action: str | None = None,
        limit: int = 1000,
    ) -> list[dict[str, Any]]:
        """Assets matching every filter given (``GET /api/v1/assets``), in the registry's order."""
        query = {"name": name, "tag": tag, "product": product, "action": action}
        params: dict[str, Any] = {k: v for k, v in query.items() if v is not None}
        response = await self._get("/api/v1/assets", {**params, "limit": limit})
        body = response.json() if response is not None else []
        items = body.get("items", []) if isinstance(body, dict) else body
        return [item for item in items if isinstance(item, dict)]

    async def asset(self, asset_id: UUID) -> dict[str, Any] | None:
        """One asset (``GET /api/v1/assets/{id}``); None if there is none."""
        return await self._one(f"/api/v1/assets/{asset_id}")

    async def sealed_config(self, asset_id: UUID) -> dict[str, Any] | None:
        """The asset's configuration, still sealed; None if the asset is gone (service role)."""
        return await self._one(f"/api/v1/assets/{asset_id}/sealed-config")

    async def owner(self, owner_id: UUID) -> dict[str, Any] | None:
        """One owner, a person or a group with its members; None if there is none."""
        return await self._one(f"/api/v1/owners/{owner_id}")

    async def owner_named(self, name: str) -> dict[str, Any] | None:
        """The owner of that name (names are unique), a person or a group; None if there is none."""
        response = await self._get("/api/v1/owners", {"name": name})
        body = response.json() if response is not None else []
        found = [item for item in body if isinstance(item, dict)] if isinstance(body, list) else []
        return found[0] if found else None

    async def _one(self, path: str) -> dict[str, Any] | None:
        response = await self._get(path)
        if response is None:
            return None
        body = response.json()
        if not isinstance(body, dict):
            raise UnavailableError(f"the asset registry answered GET {path} with no object")
        return body


@contextlib.asynccontextmanager
async def open_registry_client(
    settings: Settings, *, timeout_s: float | None = None, max_connections: int = 100
) -> AsyncIterator[RegistryClient]:
    """A client of the registry at ``settings.service_url("asset-registry")``.

    ``timeout_s`` (default ``settings.registry_timeout_s``) bounds each phase of a call
    (connecting, waiting for a free connection of the client's pool, writing, reading);
    connecting is given at most 5 s, so a registry that is down is told apart from a slow one
    at once.
    """
    if timeout_s is None:
        timeout_s = settings.registry_timeout_s
    token = settings.service_token
    headers = {"Authorization": f"Bearer {token.get_secret_value()}"} if token else {}
    async with httpx.AsyncClient(
        base_url=settings.service_url("asset-registry"),
        headers=headers,
        timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 5.0)),
        limits=httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        ),
    ) as client:
        yield RegistryClient(client)
