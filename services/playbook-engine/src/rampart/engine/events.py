"""The events the engine has been told about, kept for triggers and for the runs API."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, Field

from rampart.core.deps import Conn
from rampart.core.messages import EventIngested
from rampart.core.vocabulary import Severity
from rampart.engine.config import SCHEMA

__all__ = ["KnownEvent", "TriggerFailure", "list_events", "record_event"]


class TriggerFailure(BaseModel):
    """A message of the event whose playbooks the engine gave up starting, and why."""

    message_id: str
    kind: str = Field(description="'event' (ingested) or 'update'")
    attempts: int
    error: str
    failed_at: datetime


class KnownEvent(BaseModel):
    """What the engine keeps of an ingested event."""

    event_id: UUID
    name: str
    severity: Severity
    labels: list[str]
    received_at: datetime
    trigger_failures: list[TriggerFailure] = Field(
        default_factory=list,
        description="messages of the event whose playbooks were not started: the engine "
        "failed on them RAMPART_ENGINE_TIMER_ATTEMPTS times",
    )


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
    failed = await conn.fetch(
        f"SELECT event_id, message_id, trigger->>'kind' AS kind, attempts, "
        f"coalesce(last_error, '') AS error, failed_at FROM {SCHEMA}.trigger_jobs "
        "WHERE failed_at IS NOT NULL AND event_id = any($1::uuid[]) ORDER BY failed_at",
        [r["event_id"] for r in rows],
    )
    failures: dict[UUID, list[TriggerFailure]] = {}
    for f in failed:
        failures.setdefault(f["event_id"], []).append(
            TriggerFailure(**{k: v for k, v in dict(f).items() if k != "event_id"})
        )
    return [KnownEvent(**dict(r), trigger_failures=failures.get(r["event_id"], [])) for r in rows]
