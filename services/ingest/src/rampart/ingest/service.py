"""Storing events and announcing them through the outbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from rampart.core.envelope import Envelope
from rampart.core.ids import uuid7
from rampart.core.messages import EventIngested
from rampart.core.outbox import enqueue
from rampart.ingest.models import SLA_MINUTES, EventCreate, EventPublic

SCHEMA = "ingest"
SOURCE = "rampart/ingest"
_COLUMNS = (
    "id, source, source_ref, name, severity, labels, status, data, occurred_at, due_at, "
    "sla_breached_at, created_at"
)


async def create(*, conn: Any, event: EventCreate) -> tuple[UUID, bool]:
    """Store an event unless its source already sent it; returns its id and whether it is new."""
    due_at = datetime.now(UTC) + timedelta(minutes=SLA_MINUTES[event.severity])
    async with conn.transaction():
        row = await conn.fetchrow(
            f"INSERT INTO {SCHEMA}.events (id, source, source_ref, name, severity, labels, "
            "data, occurred_at, due_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
            "ON CONFLICT (source, source_ref) WHERE source_ref IS NOT NULL DO NOTHING "
            "RETURNING id",
            uuid7(),
            event.source,
            event.source_ref,
            event.name,
            event.severity,
            event.labels,
            event.data,
            event.occurred_at,
            due_at,
        )
        if row is None:
            existing = await conn.fetchval(
                f"SELECT id FROM {SCHEMA}.events WHERE source = $1 AND source_ref = $2",
                event.source,
                event.source_ref,
            )
            return existing, False
        message = EventIngested(
            event_id=row["id"],
            source=event.source,
            source_ref=event.source_ref,
            name=event.name,
            severity=event.severity,
            labels=event.labels,
            occurred_at=event.occurred_at,
            due_at=due_at,
        )
        envelope = Envelope.wrap(message, source=SOURCE, subject=str(row["id"]))
        await enqueue(conn, schema=SCHEMA, envelopes=[envelope])
        return row["id"], True


async def get(*, conn: Any, event_id: UUID) -> EventPublic | None:
    """One event by id."""
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM {SCHEMA}.events WHERE id = $1", event_id)
    return EventPublic(**dict(row)) if row else None


async def list_recent(*, conn: Any, limit: int) -> list[EventPublic]:
    """The newest events first."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM {SCHEMA}.events ORDER BY created_at DESC, id DESC LIMIT $1",
        limit,
    )
    return [EventPublic(**dict(r)) for r in rows]


async def mark_sla_breached(*, conn: Any, event_id: UUID, breached_at: datetime) -> bool:
    """Record that an event's due time passed; False if the event is unknown."""
    status = await conn.execute(
        f"UPDATE {SCHEMA}.events SET sla_breached_at = $2, updated_at = now() "
        "WHERE id = $1 AND sla_breached_at IS NULL",
        event_id,
        breached_at,
    )
    return bool(status.endswith(" 1"))
