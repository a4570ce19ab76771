"""SLA timers: rows with a due time, fired once by whichever replica claims them first.

One engine serves every subject: events (from the ingested due time, moved by severity
changes, stopped by close, restarted by reopen), approval stages, workbook phases and tasks.
A timer knows when it started and how much time it has (counted on a business-hours calendar
when its policy names one); it warns after a share of that time, can pause and resume, and
breaches at its due time.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Literal
from uuid import UUID

from pydantic import BaseModel

from rampart.approvals import policies, reports
from rampart.approvals.calendars import Calendar
from rampart.approvals.policies import SubjectKind, TimerPlan
from rampart.approvals.state import ApprovalsState
from rampart.core.consumers import Queue
from rampart.core.deps import Conn
from rampart.core.errors import ConflictError, NotFoundError
from rampart.core.ids import uuid7
from rampart.core.messages import (
    EventClosed,
    EventIngested,
    EventUpdated,
    PhaseCompleted,
    PhaseStarted,
    TaskCompleted,
    TaskCreated,
)
from rampart.core.outbox import Publisher
from rampart.core.store import Record

log = logging.getLogger(__name__)

SCHEMA = "approvals"
publish = Publisher(schema=SCHEMA, source="rampart/approvals")
sla_queue = Queue("approvals.sla")
TimerStatus = Literal["pending", "paused", "breached", "cancelled"]

_COLUMNS = (
    "id, subject_kind, subject_id, event_id, severity, status, started_at, budget, due_at, "
    "warn_at, warned_at, paused_at, remaining, fired_at, stopped_at"
)


class SlaTimer(BaseModel):
    """A due time on one subject: when it started, warns, breaches, and where it stands."""

    id: UUID
    subject_kind: SubjectKind
    subject_id: UUID
    event_id: UUID | None
    severity: str | None
    status: TimerStatus
    started_at: datetime
    budget: timedelta
    due_at: datetime
    warn_at: datetime | None
    warned_at: datetime | None
    paused_at: datetime | None
    remaining: timedelta | None
    fired_at: datetime | None
    stopped_at: datetime | None


async def start_timer(
    *,
    conn: Conn,
    subject_kind: SubjectKind,
    subject_id: UUID,
    event_id: UUID | None,
    plan: TimerPlan,
    severity: str | None = None,
    owner: str | None = None,
    restart: bool = False,
) -> None:
    """Start a subject's clock once; ``restart`` starts it again whatever it was.

    A start for a subject that has a clock already changes nothing (a duplicate); one that
    finds the row a stop left before it arrived records its times and leaves it stopped.
    """
    if restart:
        conflict = (
            "status = 'pending', warned_at = NULL, fired_at = NULL, stopped_at = NULL, "
            "paused_at = NULL, remaining = NULL, warn_remaining = NULL"
        )
    else:
        conflict = "event_id = coalesce(sla_timers.event_id, EXCLUDED.event_id)"
    where = "" if restart else " WHERE NOT sla_timers.start_seen"
    await conn.execute(
        f"INSERT INTO {SCHEMA}.sla_timers (id, subject_kind, subject_id, event_id, severity, "
        "owner, started_at, budget, due_at, warn_at, calendar_id, policy_id) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) "
        "ON CONFLICT (subject_kind, subject_id) DO UPDATE SET started_at = EXCLUDED.started_at, "
        "budget = EXCLUDED.budget, due_at = EXCLUDED.due_at, warn_at = EXCLUDED.warn_at, "
        "calendar_id = EXCLUDED.calendar_id, policy_id = EXCLUDED.policy_id, start_seen = true, "
        "severity = coalesce(EXCLUDED.severity, sla_timers.severity), "
        f"owner = coalesce(sla_timers.owner, EXCLUDED.owner), {conflict}{where}",
        uuid7(),
        subject_kind,
        subject_id,
        event_id,
        severity,
        owner,
        plan.started_at,
        plan.budget,
        plan.due_at,
        plan.warn_at,
        plan.calendar_id,
        plan.policy_id,
    )


async def move_timer(
    *, conn: Conn, subject_kind: SubjectKind, subject_id: UUID, plan: TimerPlan, severity: str
) -> None:
    """Re-plan a running clock (its event's severity or due time changed)."""
    await conn.execute(
        f"UPDATE {SCHEMA}.sla_timers SET started_at = $3, budget = $4, due_at = $5, "
        "warn_at = $6, calendar_id = $7, policy_id = $8, severity = $9, status = 'pending', "
        "warned_at = NULL, paused_at = NULL, remaining = NULL, warn_remaining = NULL "
        "WHERE subject_kind = $1 AND subject_id = $2 AND status IN ('pending', 'paused')",
        subject_kind,
        subject_id,
        plan.started_at,
        plan.budget,
        plan.due_at,
        plan.warn_at,
        plan.calendar_id,
        plan.policy_id,
        severity,
    )


async def stop_timer(
    *,
    conn: Conn,
    subject_kind: SubjectKind,
    subject_id: UUID,
    now: datetime,
    event_id: UUID | None = None,
) -> None:
    """Stop a subject's clock (its event closed, its task or phase was done, its approval
    decided); a stop that comes before the start leaves a row the start will find stopped."""
    await conn.execute(
        f"INSERT INTO {SCHEMA}.sla_timers (id, subject_kind, subject_id, event_id, status, "
        "started_at, budget, due_at, stopped_at, start_seen) "
        "VALUES ($1, $2, $3, $4, 'cancelled', $5, interval '0', $5, $5, false) "
        "ON CONFLICT (subject_kind, subject_id) DO UPDATE SET status = CASE "
        "WHEN sla_timers.status = 'breached' THEN sla_timers.status ELSE 'cancelled' END, "
        "stopped_at = EXCLUDED.stopped_at WHERE sla_timers.stopped_at IS NULL",
        uuid7(),
        subject_kind,
        subject_id,
        event_id,
        now,
    )


async def set_owner(
    *, conn: Conn, subject_kind: SubjectKind, subject_id: UUID, owner: str | None
) -> None:
    """Note who owns a subject now: they hear of its clock's warning and breach (the owner
    loop looks a new owner up in the registry)."""
    await conn.execute(
        f"UPDATE {SCHEMA}.sla_timers SET owner = $3, owner_id = CASE "
        "WHEN owner IS NOT DISTINCT FROM $3 THEN owner_id END "
        "WHERE subject_kind = $1 AND subject_id = $2",
        subject_kind,
        subject_id,
        owner,
    )


async def get_timer(*, conn: Conn, timer_id: UUID) -> SlaTimer | None:
    """One timer."""
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM {SCHEMA}.sla_timers WHERE id = $1 AND start_seen", timer_id
    )
    return None if row is None else SlaTimer(**dict(row))


async def list_timers(
    *,
    conn: Conn,
    subject_id: UUID | None = None,
    subject_kind: SubjectKind | None = None,
    event_id: UUID | None = None,
    status: TimerStatus | None = None,
    warned: bool | None = None,
    limit: int = 100,
) -> list[SlaTimer]:
    """Timers, soonest due first, filtered by subject, event, status or whether they warned."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM {SCHEMA}.sla_timers "
        "WHERE start_seen AND ($1::uuid IS NULL OR subject_id = $1) "
        "AND ($2::text IS NULL OR subject_kind = $2) "
        "AND ($3::uuid IS NULL OR event_id = $3) AND ($4::text IS NULL OR status = $4) "
        "AND ($5::boolean IS NULL OR (warned_at IS NOT NULL) = $5) "
        "ORDER BY due_at, id LIMIT $6",
        subject_id,
        subject_kind,
        event_id,
        status,
        warned,
        limit,
    )
    return [SlaTimer(**dict(r)) for r in rows]


async def pause(*, conn: Conn, timer_id: UUID, now: datetime) -> SlaTimer:
    """Stop a running clock where it is; the time it has left waits for ``resume``."""
    async with conn.transaction():
        row = await _locked(conn=conn, timer_id=timer_id)
        if row["status"] != "pending":
            raise ConflictError(f"timer {timer_id} is {row['status']}, not running")
        counting = await policies.calendar(conn=conn, calendar_id=row["calendar_id"])
        remaining = _between(counting, now, row["due_at"])
        warn_remaining = None
        if row["warned_at"] is None and row["warn_at"] is not None:
            warn_remaining = _between(counting, now, row["warn_at"])
        await conn.execute(
            f"UPDATE {SCHEMA}.sla_timers SET status = 'paused', paused_at = $2, remaining = $3, "
            "warn_remaining = $4 WHERE id = $1",
            timer_id,
            now,
            remaining,
            warn_remaining,
        )
    found = await get_timer(conn=conn, timer_id=timer_id)
    assert found is not None
    return found


async def resume(*, conn: Conn, timer_id: UUID, now: datetime) -> SlaTimer:
    """Run a paused clock again with the time it had left."""
    async with conn.transaction():
        row = await _locked(conn=conn, timer_id=timer_id)
        if row["status"] != "paused":
            raise ConflictError(f"timer {timer_id} is {row['status']}, not paused")
        counting = await policies.calendar(conn=conn, calendar_id=row["calendar_id"])
        due = _after(counting, now, row["remaining"])
        warn = row["warn_at"]
        if row["warn_remaining"] is not None:
            warn = _after(counting, now, row["warn_remaining"])
        await conn.execute(
            f"UPDATE {SCHEMA}.sla_timers SET status = 'pending', due_at = $2, warn_at = $3, "
            "paused_at = NULL, remaining = NULL, warn_remaining = NULL WHERE id = $1",
            timer_id,
            due,
            warn,
        )
    found = await get_timer(conn=conn, timer_id=timer_id)
    assert found is not None
    return found


async def _locked(*, conn: Conn, timer_id: UUID) -> Record:
    row = await conn.fetchrow(
        f"SELECT * FROM {SCHEMA}.sla_timers WHERE id = $1 AND start_seen FOR UPDATE", timer_id
    )
    if row is None:
        raise NotFoundError(f"no SLA timer {timer_id}")
    return row


def _between(counting: Calendar | None, start: datetime, end: datetime) -> timedelta:
    if counting is None:
        gap: timedelta = max(end - start, timedelta(0))
        return gap
    return counting.open_time(start, end)


def _after(counting: Calendar | None, start: datetime, left: timedelta) -> datetime:
    return start + left if counting is None else counting.add(start, left)


async def claim_due(*, conn: Conn, now: datetime, batch: int = 100) -> list[Record]:
    """Mark up to ``batch`` timers due by ``now`` breached, in the caller's transaction."""
    rows = await conn.fetch(
        f"UPDATE {SCHEMA}.sla_timers SET status = 'breached', fired_at = $2 WHERE id IN ("
        f"SELECT id FROM {SCHEMA}.sla_timers WHERE status = 'pending' AND due_at <= $2 "
        "ORDER BY due_at LIMIT $1 FOR UPDATE SKIP LOCKED) "
        "RETURNING id, subject_kind, subject_id, event_id, due_at",
        batch,
        now,
    )
    return sorted(rows, key=lambda r: r["due_at"])


async def claim_warnings(*, conn: Conn, now: datetime, batch: int = 100) -> list[Record]:
    """Mark up to ``batch`` running timers past their warning point warned."""
    rows = await conn.fetch(
        f"UPDATE {SCHEMA}.sla_timers SET warned_at = $2 WHERE id IN ("
        f"SELECT id FROM {SCHEMA}.sla_timers WHERE status = 'pending' AND warned_at IS NULL "
        "AND warn_at <= $2 AND due_at > $2 ORDER BY warn_at LIMIT $1 FOR UPDATE SKIP LOCKED) "
        "RETURNING id, subject_kind, subject_id, event_id, due_at",
        batch,
        now,
    )
    return sorted(rows, key=lambda r: r["due_at"])


@sla_queue.on(EventIngested)
async def start_event_timer(conn: Conn, message: EventIngested, state: ApprovalsState) -> None:
    """An ingested event starts its SLA clock: its policy's, or the due time it came with."""
    now = state.clock.now()
    await reports.event_ingested(
        conn=conn, event_id=message.event_id, severity=message.severity, at=now, name=message.name
    )
    plan = await policies.plan(
        conn=conn,
        subject_kind="event",
        severity=message.severity,
        started_at=now,
        due_at=message.due_at,
    )
    if plan is not None:
        await start_timer(
            conn=conn,
            subject_kind="event",
            subject_id=message.event_id,
            event_id=message.event_id,
            plan=plan,
            severity=message.severity,
        )


@sla_queue.on(EventUpdated)
async def follow_event(conn: Conn, message: EventUpdated, state: ApprovalsState) -> None:
    """A severity change moves the event's due time; a reopened event's clock starts again."""
    changes = message.changes
    await reports.event_changed(
        conn=conn, event_id=message.event_id, changes=changes, at=state.clock.now()
    )
    if "owner" in changes:
        owner = changes["owner"]
        await set_owner(
            conn=conn,
            subject_kind="event",
            subject_id=message.event_id,
            owner=None if owner is None else str(owner),
        )
    reopened = changes.get("status") in ("new", "open")
    if not reopened and "severity" not in changes and "due_at" not in changes:
        return
    timer = await conn.fetchrow(
        f"SELECT status, started_at, budget, severity, stopped_at FROM {SCHEMA}.sla_timers "
        "WHERE subject_kind = 'event' AND subject_id = $1 AND start_seen",
        message.event_id,
    )
    if timer is None:
        return
    severity = changes.get("severity", timer["severity"])
    due_at = _parse_time(changes.get("due_at"))
    if reopened and timer["stopped_at"] is not None:
        now = state.clock.now()
        plan = await policies.plan(
            conn=conn,
            subject_kind="event",
            severity=severity,
            started_at=now,
            due_at=due_at,
            budget=None if due_at is not None else timer["budget"],
        )
        if plan is not None:
            await start_timer(
                conn=conn,
                subject_kind="event",
                subject_id=message.event_id,
                event_id=message.event_id,
                plan=plan,
                severity=severity,
                restart=True,
            )
    elif timer["stopped_at"] is None:
        plan = await policies.plan(
            conn=conn,
            subject_kind="event",
            severity=severity,
            started_at=timer["started_at"],
            due_at=due_at or timer["started_at"] + timer["budget"],
        )
        if plan is not None:
            await move_timer(
                conn=conn,
                subject_kind="event",
                subject_id=message.event_id,
                plan=plan,
                severity=severity,
            )


def _parse_time(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


@sla_queue.on(EventClosed)
async def stop_event_timer(conn: Conn, message: EventClosed) -> None:
    """A closed event stops its SLA clock."""
    await reports.event_closed(conn=conn, event_id=message.event_id, at=message.closed_at)
    await stop_timer(
        conn=conn,
        subject_kind="event",
        subject_id=message.event_id,
        now=message.closed_at,
        event_id=message.event_id,
    )


async def _start_workbook_timer(
    *,
    conn: Conn,
    state: ApprovalsState,
    kind: Literal["phase", "task"],
    subject_id: UUID,
    event_id: UUID,
    owner: str | None,
    due_at: datetime | None,
) -> None:
    plan = await policies.plan(
        conn=conn, subject_kind=kind, severity=None, started_at=state.clock.now(), due_at=due_at
    )
    if plan is not None:
        await start_timer(
            conn=conn,
            subject_kind=kind,
            subject_id=subject_id,
            event_id=event_id,
            plan=plan,
            owner=owner,
        )


@sla_queue.on(TaskCreated)
async def start_task_timer(conn: Conn, message: TaskCreated, state: ApprovalsState) -> None:
    """A task with a due time (or a task policy) starts its SLA clock."""
    await _start_workbook_timer(
        conn=conn,
        state=state,
        kind="task",
        subject_id=message.task_id,
        event_id=message.event_id,
        owner=message.owner,
        due_at=message.due_at,
    )


@sla_queue.on(TaskCompleted)
async def stop_task_timer(conn: Conn, message: TaskCompleted) -> None:
    """A completed task stops its SLA clock."""
    await stop_timer(
        conn=conn,
        subject_kind="task",
        subject_id=message.task_id,
        now=message.completed_at,
        event_id=message.event_id,
    )


@sla_queue.on(PhaseStarted)
async def start_phase_timer(conn: Conn, message: PhaseStarted, state: ApprovalsState) -> None:
    """A workbook phase with a due time (or a phase policy) starts its SLA clock."""
    await _start_workbook_timer(
        conn=conn,
        state=state,
        kind="phase",
        subject_id=message.phase_id,
        event_id=message.event_id,
        owner=message.owner,
        due_at=message.due_at,
    )


@sla_queue.on(PhaseCompleted)
async def stop_phase_timer(conn: Conn, message: PhaseCompleted) -> None:
    """A phase whose every task is done stops its SLA clock."""
    await stop_timer(
        conn=conn,
        subject_kind="phase",
        subject_id=message.phase_id,
        now=message.completed_at,
        event_id=message.event_id,
    )
