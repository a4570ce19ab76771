"""What the engine asks other services over HTTP: an event's content, and asset names.

Both sit behind a small protocol so a test (or another deployment) can pass its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol
from uuid import UUID

import httpx

from rampart.core.errors import TransientError
from rampart.core.messages import EventIngested
from rampart.core.registry_client import RegistryClient


class EventSource(Protocol):
    """Where the engine reads the full event (artifacts included) that a run works on."""

    async def fetch(self, event_id: UUID) -> dict[str, Any] | None:
        """The event as JSON, or None if there is no such event."""


class AssetDirectory(Protocol):
    """Where ``ctx.assets(tag=, action=)`` looks assets up."""

    async def names(self, *, tag: str | None, action: str | None) -> list[str]:
        """Names of the assets with ``tag`` that can run ``action``."""


def _headers(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


class HttpEventSource:
    """Reads ``GET {ingest}/api/v1/events/{id}``."""

    def __init__(self, client: httpx.AsyncClient, *, token: str | None) -> None:
        self._client = client
        self._token = token

    async def fetch(self, event_id: UUID) -> dict[str, Any] | None:
        """The event's JSON; None on 404; ``TransientError`` when ingest cannot answer."""
        try:
            response = await self._client.get(
                f"/api/v1/events/{event_id}", headers=_headers(self._token)
            )
        except httpx.HTTPError as exc:
            raise TransientError(f"ingest unreachable: {type(exc).__name__}: {exc}") from exc
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise TransientError(f"ingest answered {response.status_code} for event {event_id}")
        body = response.json()
        return body if isinstance(body, dict) else None


class HttpAssetDirectory:
    """Reads ``GET {asset-registry}/api/v1/assets?tag=&action=`` through the shared client."""

    def __init__(self, registry: RegistryClient) -> None:
        self._registry = registry

    async def names(self, *, tag: str | None, action: str | None) -> list[str]:
        """Asset names, in the registry's order; ``UnavailableError`` if it cannot answer."""
        found = await self._registry.assets(tag=tag or None, action=action or None)
        return [str(item["name"]) for item in found if "name" in item]


def snapshot(fetched: Mapping[str, Any] | None, message: EventIngested | None) -> dict[str, Any]:
    """The engine's JSON of an event: ingest's answer, else what the message said."""
    base: dict[str, Any] = {}
    if message is not None:
        base = {
            "id": str(message.event_id),
            "name": message.name,
            "severity": message.severity,
            "labels": list(message.labels),
            "status": message.status,
            "source": message.source,
            "source_ref": message.source_ref,
            "occurred_at": _iso(message.occurred_at),
            "due_at": _iso(message.due_at),
            "artifacts": [],
            "data": {},
        }
    if fetched is None:
        return base
    event = {
        "id": str(fetched.get("id") or fetched.get("event_id") or base.get("id")),
        "name": fetched.get("name", base.get("name", "")),
        "severity": fetched.get("severity", base.get("severity", "medium")),
        "labels": list(fetched.get("labels") or base.get("labels") or []),
        "status": fetched.get("status", base.get("status", "new")),
        "source": fetched.get("source", base.get("source", "")),
        "source_ref": fetched.get("source_ref", base.get("source_ref")),
        "owner": fetched.get("owner"),
        "occurred_at": _iso(fetched.get("occurred_at", base.get("occurred_at"))),
        "due_at": _iso(fetched.get("due_at", base.get("due_at"))),
        "artifacts": [_artifact(a) for a in fetched.get("artifacts") or [] if isinstance(a, dict)],
        "data": fetched.get("data") if isinstance(fetched.get("data"), dict) else {},
    }
    return event


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _artifact(value: Mapping[str, Any]) -> dict[str, Any]:
    """One artifact as ``{name, cef, contains: {field: [types]}}``, whatever ingest called them."""
    cef: dict[str, Any] = value["cef"] if isinstance(value.get("cef"), dict) else {}
    contains = value.get("contains") or value.get("cef_types") or {}
    if isinstance(contains, list):
        # one list of types for the whole artifact: it applies to each of its fields
        contains = {name: list(contains) for name in cef}
    return {
        "name": str(value.get("name") or ""),
        "cef": dict(cef),
        "contains": {
            str(k): [v] if isinstance(v, str) else list(v)
            for k, v in dict(contains).items()
            if isinstance(v, str | list | tuple)
        },
    }
