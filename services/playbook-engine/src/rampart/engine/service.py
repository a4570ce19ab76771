"""The engine's store: playbooks and the events it has been told about."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel

from rampart.core.messages import EventIngested

SCHEMA = "engine"


class PlaybookPublic(BaseModel):
    """A playbook version as the API lists it."""

    name: str
    version: int
    labels: list[str]
    priority: int
    active: bool
    created_at: datetime


class KnownEvent(BaseModel):
    """What the engine keeps of an ingested event."""

    event_id: UUID
    name: str
    severity: str
    labels: list[str]
    received_at: datetime


async def record_event(*, conn: Any, event: EventIngested) -> None:
    """Remember an ingested event for trigger evaluation."""
    await conn.execute(
        f"INSERT INTO {SCHEMA}.events (event_id, name, severity, labels) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT (event_id) DO NOTHING",
        event.event_id,
        event.name,
        event.severity,
        event.labels,
    )


async def list_playbooks(*, conn: Any) -> list[PlaybookPublic]:
    """The newest version of every playbook, by priority."""
    rows = await conn.fetch(
        f"SELECT DISTINCT ON (name) name, version, labels, priority, active, created_at "
        f"FROM {SCHEMA}.playbooks ORDER BY name, version DESC"
    )
    return sorted((PlaybookPublic(**dict(r)) for r in rows), key=lambda p: (p.priority, p.name))


async def list_events(*, conn: Any, limit: int) -> list[KnownEvent]:
    """Events the engine was told about, newest first."""
    rows = await conn.fetch(
        f"SELECT event_id, name, severity, labels, received_at FROM {SCHEMA}.events "
        "ORDER BY received_at DESC LIMIT $1",
        limit,
    )
    return [KnownEvent(**dict(r)) for r in rows]
