"""Workbooks in the database: phases and tasks on an event, each with an owner and an SLA."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal
from uuid import UUID

from rampart.core.deps import Conn
from rampart.core.ids import uuid7
from rampart.core.messages import TaskCreated
from rampart.core.store import affected_rows
from rampart.ingest import SCHEMA
from rampart.ingest.workbook.models import PhasePublic, PhaseSpec, TaskCreate, TaskPublic


def _due(now: datetime, minutes: int | None) -> datetime | None:
    return now + timedelta(minutes=minutes) if minutes else None


async def _phase_id(
    *, conn: Conn, event_id: UUID, name: str, owner: str | None, sla: int | None, now: datetime
) -> UUID:
    row = await conn.fetchrow(
        f"INSERT INTO {SCHEMA}.phases (id, event_id, name, position, owner, sla_minutes, due_at) "
        f"VALUES ($1, $2, $3, (SELECT coalesce(max(position), 0) + 1 FROM {SCHEMA}.phases "
        "WHERE event_id = $2), $4, $5, $6) ON CONFLICT (event_id, name) DO NOTHING RETURNING id",
        uuid7(),
        event_id,
        name,
        owner,
        sla,
        _due(now, sla),
    )
    if row is not None:
        return UUID(str(row["id"]))
    existing = await conn.fetchval(
        f"SELECT id FROM {SCHEMA}.phases WHERE event_id = $1 AND name = $2", event_id, name
    )
    return UUID(str(existing))


async def add_task(
    *, conn: Conn, event_id: UUID, task: TaskCreate, now: datetime
) -> TaskCreated | None:
    """Add a task (and its phase if new); the message to announce it, None if it existed."""
    phase_id = await _phase_id(
        conn=conn, event_id=event_id, name=task.phase, owner=None, sla=None, now=now
    )
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
    if row is None:
        return None
    return TaskCreated(
        event_id=event_id,
        task_id=row["id"],
        phase=task.phase,
        name=task.name,
        owner=task.owner,
        due_at=due_at,
    )


async def add_phases(
    *,
    conn: Conn,
    event_id: UUID,
    phases: tuple[PhaseSpec, ...] | list[PhaseSpec],
    now: datetime,
    owner: str | None = None,
) -> list[TaskCreated]:
    """Add phases with their tasks; the messages announcing each new task."""
    created: list[TaskCreated] = []
    for phase in phases:
        await _phase_id(
            conn=conn,
            event_id=event_id,
            name=phase.name,
            owner=phase.owner or owner,
            sla=phase.sla_minutes,
            now=now,
        )
        for task in phase.tasks:
            message = await add_task(
                conn=conn,
                event_id=event_id,
                task=task.model_copy(update={"phase": phase.name}),
                now=now,
            )
            if message is not None:
                created.append(message)
    return created


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


async def load(*, conn: Conn, event_id: UUID) -> list[PhasePublic]:
    """An event's phases in order, each with its tasks in order."""
    phases = await conn.fetch(
        f"SELECT id, name, position, owner, sla_minutes, due_at, sla_breached_at "
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
