"""The events the engine has been told about, kept for triggers and for the runs API."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel

from rampart.core.deps import Conn
from rampart.core.messages import EventIngested
from rampart.core.vocabulary import Severity
from rampart.engine.config import SCHEMA

__all__ = ["KnownEvent", "list_events", "record_event"]


class KnownEvent(BaseModel):
    """What the engine keeps of an ingested event."""

    event_id: UUID
    name: str
    severity: Severity
    labels: list[str]
    received_at: datetime


async def record_event(*, conn: Conn, event: EventIngested) -> None:
    """Remember an ingested event for trigger evaluation."""
    await conn.execute(
        f"INSERT INTO {SCHEMA}.events (event_id, name, severity, labels) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT (event_id) DO NOTHING",
        event.event_id,
        event.name,
        event.severity,
        event.labels,
    )


async def list_events(*, conn: Conn, limit: int) -> list[KnownEvent]:
    """Events the engine was told about, newest first."""
    rows = await conn.fetch(
        f"SELECT event_id, name, severity, labels, received_at FROM {SCHEMA}.events "
        "ORDER BY received_at DESC LIMIT $1",
        limit,
    )
    return [KnownEvent(**dict(r)) for r in rows]
