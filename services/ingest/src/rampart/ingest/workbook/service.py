"""Workbooks in the database: phases and tasks on an event, each with an owner and an SLA."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal
from uuid import UUID

from rampart.core.deps import Conn
from rampart.core.ids import uuid7
from rampart.core.messages import Message, PhaseCompleted, PhaseStarted, TaskCreated
from rampart.core.store import affected_rows
from rampart.ingest import SCHEMA
from rampart.ingest.workbook.models import PhasePublic, PhaseSpec, TaskCreate, TaskPublic


def _due(now: datetime, minutes: int | None) -> datetime | None:
    return now + timedelta(minutes=minutes) if minutes else None


async def _phase(
    *, conn: Conn, event_id: UUID, name: str, owner: str | None, sla: int | None, now: datetime
) -> tuple[UUID, PhaseStarted | None]:
    """The phase of that name (made when new); the message announcing it when it was made."""
    due_at = _due(now, sla)
    row = await conn.fetchrow(
        f"INSERT INTO {SCHEMA}.phases (id, event_id, name, position, owner, sla_minutes, due_at) "
        f"VALUES ($1, $2, $3, (SELECT coalesce(max(position), 0) + 1 FROM {SCHEMA}.phases "
        "WHERE event_id = $2), $4, $5, $6) ON CONFLICT (event_id, name) DO NOTHING RETURNING id",
        uuid7(),
        event_id,
        name,
        owner,
        sla,
        due_at,
    )
    if row is not None:
        phase_id = UUID(str(row["id"]))
        started = PhaseStarted(
            event_id=event_id,
            phase_id=phase_id,
            name=name,
            owner=owner,
            started_at=now,
            due_at=due_at,
        )
        return phase_id, started
    existing = await conn.fetchval(
        f"SELECT id FROM {SCHEMA}.phases WHERE event_id = $1 AND name = $2", event_id, name
    )
    return UUID(str(existing)), None


async def add_task(*, conn: Conn, event_id: UUID, task: TaskCreate, now: datetime) -> list[Message]:
    """Add a task (and its phase if new); the messages announcing what was made."""
    phase_id, started = await _phase(
        conn=conn, event_id=event_id, name=task.phase, owner=None, sla=None, now=now
    )
    made: list[Message] = [started] if started is not None else []
    due_at = _due(now, task.sla_minutes)
    row = await conn.fetchrow(
        f"INSERT INTO {SCHEMA}.tasks (id, event_id, phase_id, name, position, owner, "
        f"sla_minutes, due_at) VALUES ($1, $2, $3, $4, (SELECT coalesce(max(position), 0) + 1 "
        f"FROM {SCHEMA}.tasks WHERE phase_id = $3), $5, $6, $7) "
        "ON CONFLICT (phase_id, name) DO NOTHING RETURNING id",
        uuid7(),
        event_id,
        phase_id,
        task.name,
        task.owner,
        task.sla_minutes,
        due_at,
    )
    if row is not None:
        made.append(
            TaskCreated(
                event_id=event_id,
                task_id=row["id"],
                phase=task.phase,
                name=task.name,
                owner=task.owner,
                due_at=due_at,
            )
        )
    return made


async def add_phases(
    *,
    conn: Conn,
    event_id: UUID,
    phases: tuple[PhaseSpec, ...] | list[PhaseSpec],
    now: datetime,
    owner: str | None = None,
) -> list[Message]:
    """Add phases with their tasks; the messages announcing each new phase and task."""
    made: list[Message] = []
    for phase in phases:
        _, started = await _phase(
            conn=conn,
            event_id=event_id,
            name=phase.name,
            owner=phase.owner or owner,
            sla=phase.sla_minutes,
            now=now,
        )
        if started is not None:
            made.append(started)
        for task in phase.tasks:
            made.extend(
                await add_task(
                    conn=conn,
                    event_id=event_id,
                    task=task.model_copy(update={"phase": phase.name}),
                    now=now,
                )
            )
    return made


async def complete_task(
    *,
    conn: Conn,
    event_id: UUID,
    task_id: UUID | None,
    name: str | None,
    note: str,
    by: str | None,
    now: datetime,
) -> tuple[UUID | None, bool]:
    """Complete a task by id or name; returns its id (None if unknown) and whether it changed."""
    row = await conn.fetchrow(
        f"SELECT id, status FROM {SCHEMA}.tasks WHERE event_id = $1 AND "
        "(($2::uuid IS NOT NULL AND id = $2) OR ($2::uuid IS NULL AND name = $3)) "
        "ORDER BY created_at LIMIT 1 FOR UPDATE",
        event_id,
        task_id,
        name,
    )
    if row is None:
        return None, False
    if row["status"] == "done":
        return UUID(str(row["id"])), False
    await conn.execute(
        f"UPDATE {SCHEMA}.tasks SET status = 'done', note = $2, completed_by = $3, "
        "completed_at = $4 WHERE id = $1",
        row["id"],
        note,
        by,
        now,
    )
    return UUID(str(row["id"])), True


async def complete_phase_of(*, conn: Conn, task_id: UUID, now: datetime) -> PhaseCompleted | None:
    """Mark a task's phase complete once its last open task is done; the message saying so."""
    row = await conn.fetchrow(
        f"UPDATE {SCHEMA}.phases p SET completed_at = $2 FROM {SCHEMA}.tasks t "
        "WHERE t.id = $1 AND p.id = t.phase_id AND p.completed_at IS NULL "
        f"AND NOT EXISTS (SELECT 1 FROM {SCHEMA}.tasks o WHERE o.phase_id = p.id "
        "AND o.status <> 'done') RETURNING p.id, p.event_id",
        task_id,
        now,
    )
    if row is None:
        return None
    return PhaseCompleted(event_id=row["event_id"], phase_id=row["id"], completed_at=now)


async def load(*, conn: Conn, event_id: UUID) -> list[PhasePublic]:
    """An event's phases in order, each with its tasks in order."""
    phases = await conn.fetch(
        f"SELECT id, name, position, owner, sla_minutes, due_at, sla_breached_at, completed_at "
        f"FROM {SCHEMA}.phases WHERE event_id = $1 ORDER BY position",
        event_id,
    )
    tasks = await conn.fetch(
        f"SELECT id, phase_id, name, position, owner, sla_minutes, due_at, status, note, "
        f"completed_by, completed_at, sla_breached_at FROM {SCHEMA}.tasks "
        "WHERE event_id = $1 ORDER BY position",
        event_id,
    )
    by_phase: dict[UUID, list[TaskPublic]] = {}
    for t in tasks:
        by_phase.setdefault(t["phase_id"], []).append(TaskPublic(**dict(t)))
    return [PhasePublic(**dict(p), tasks=by_phase.get(p["id"], [])) for p in phases]


async def mark_breached(
    *, conn: Conn, kind: Literal["phase", "task"], subject_id: UUID, at: datetime
) -> bool:
    """Record that a phase's or task's due time passed."""
    table = {"phase": "phases", "task": "tasks"}[kind]
    status = await conn.execute(
        f"UPDATE {SCHEMA}.{table} SET sla_breached_at = $2 "
        "WHERE id = $1 AND sla_breached_at IS NULL",
        subject_id,
        at,
    )
    return affected_rows(status) == 1
