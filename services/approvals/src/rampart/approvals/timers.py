"""SLA timers: rows with a due time, fired once by whichever replica claims them first."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel

from rampart.core.consumers import Queue
from rampart.core.deps import Conn
from rampart.core.ids import uuid7
from rampart.core.messages import (
    EventClosed,
    EventIngested,
    TaskCompleted,
    TaskCreated,
)
from rampart.core.outbox import Publisher
from rampart.core.store import Record

log = logging.getLogger(__name__)

SCHEMA = "approvals"
publish = Publisher(schema=SCHEMA, source="rampart/approvals")
sla_queue = Queue("approvals.sla")
SubjectKind = Literal["event", "approval", "phase", "task"]


class SlaTimer(BaseModel):
    """A due time on one subject and whether it passed."""

    id: UUID
    subject_kind: SubjectKind
    subject_id: UUID
    event_id: UUID | None
    due_at: datetime
    status: Literal["pending", "breached", "cancelled"]
    fired_at: datetime | None


async def start_timer(
    *,
    conn: Conn,
    subject_kind: SubjectKind,
    subject_id: UUID,
    event_id: UUID | None,
    due_at: datetime,
) -> None:
    """Start (or move) the timer of one subject."""
    await conn.execute(
        f"INSERT INTO {SCHEMA}.sla_timers (id, subject_kind, subject_id, event_id, due_at) "
        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (subject_kind, subject_id) "
        "DO UPDATE SET due_at = EXCLUDED.due_at WHERE sla_timers.status = 'pending'",
        uuid7(),
        subject_kind,
        subject_id,
        event_id,
        due_at,
    )


async def cancel_timer(*, conn: Conn, subject_kind: SubjectKind, subject_id: UUID) -> None:
    """Stop a subject's timer, e.g. when its event closes."""
    await conn.execute(
        f"UPDATE {SCHEMA}.sla_timers SET status = 'cancelled' "
        "WHERE subject_kind = $1 AND subject_id = $2 AND status = 'pending'",
        subject_kind,
        subject_id,
    )


async def list_timers(*, conn: Conn, subject_id: UUID | None, limit: int) -> list[SlaTimer]:
    """Timers, soonest due first, optionally of one subject."""
    rows = await conn.fetch(
        f"SELECT id, subject_kind, subject_id, event_id, due_at, status, fired_at "
        f"FROM {SCHEMA}.sla_timers WHERE ($1::uuid IS NULL OR subject_id = $1) "
        "ORDER BY due_at LIMIT $2",
        subject_id,
        limit,
    )
    return [SlaTimer(**dict(r)) for r in rows]


async def restart_timer(
    *,
    conn: Conn,
    subject_kind: SubjectKind,
    subject_id: UUID,
    event_id: UUID | None,
    due_at: datetime,
) -> None:
    """Run a subject's clock anew from ``due_at``, whatever state it was in (a new stage)."""
    await conn.execute(
        f"INSERT INTO {SCHEMA}.sla_timers (id, subject_kind, subject_id, event_id, due_at) "
        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (subject_kind, subject_id) "
        "DO UPDATE SET due_at = EXCLUDED.due_at, status = 'pending', fired_at = NULL",
        uuid7(),
        subject_kind,
        subject_id,
        event_id,
        due_at,
    )


async def claim_due(*, conn: Conn, now: datetime, batch: int = 100) -> list[Record]:
    """Mark up to ``batch`` timers due by ``now`` breached, in the caller's transaction."""
    rows = await conn.fetch(
        f"SELECT id, subject_kind, subject_id, event_id, due_at FROM {SCHEMA}.sla_timers "
        "WHERE status = 'pending' AND due_at <= $2 ORDER BY due_at "
        "LIMIT $1 FOR UPDATE SKIP LOCKED",
        batch,
        now,
    )
    if rows:
        await conn.execute(
            f"UPDATE {SCHEMA}.sla_timers SET status = 'breached', fired_at = $2 "
            "WHERE id = ANY($1::uuid[])",
            [r["id"] for r in rows],
            now,
        )
    return list(rows)


@sla_queue.on(EventIngested)
async def start_event_timer(conn: Conn, message: EventIngested) -> None:
    """An ingested event with a due time starts its SLA clock."""
    if message.due_at is not None:
        await start_timer(
            conn=conn,
            subject_kind="event",
            subject_id=message.event_id,
            event_id=message.event_id,
            due_at=message.due_at,
        )


@sla_queue.on(EventClosed)
async def stop_event_timer(conn: Conn, message: EventClosed) -> None:
    """A closed event stops its SLA clock."""
    await cancel_timer(conn=conn, subject_kind="event", subject_id=message.event_id)


@sla_queue.on(TaskCreated)
async def start_task_timer(conn: Conn, message: TaskCreated) -> None:
    """A task with a due time starts its SLA clock."""
    if message.due_at is not None:
        await start_timer(
            conn=conn,
            subject_kind="task",
            subject_id=message.task_id,
            event_id=message.event_id,
            due_at=message.due_at,
        )


@sla_queue.on(TaskCompleted)
async def stop_task_timer(conn: Conn, message: TaskCompleted) -> None:
    """A completed task stops its SLA clock."""
    await cancel_timer(conn=conn, subject_kind="task", subject_id=message.task_id)
