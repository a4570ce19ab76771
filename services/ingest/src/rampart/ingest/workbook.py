"""Workbooks: phases and tasks on an event, each with an owner and an SLA in minutes."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from rampart.core.ids import uuid7
from rampart.core.messages import TaskCreated
from rampart.ingest.models import PhasePublic, PhaseSpec, TaskCreate, TaskPublic

SCHEMA = "ingest"

# NIST SP 800-61 (Computer Security Incident Handling Guide): the incident response life cycle
NIST_800_61: tuple[PhaseSpec, ...] = (
    PhaseSpec(
        name="Detection & Analysis",
        sla_minutes=60,
        tasks=[
            TaskCreate(phase="Detection & Analysis", name="Validate the alert", sla_minutes=30),
            TaskCreate(
                phase="Detection & Analysis",
                name="Scope affected hosts and accounts",
                sla_minutes=60,
            ),
            TaskCreate(phase="Detection & Analysis", name="Set severity and owner", sla_minutes=30),
        ],
    ),
    PhaseSpec(
        name="Containment",
        sla_minutes=240,
        tasks=[
            TaskCreate(phase="Containment", name="Isolate affected hosts", sla_minutes=120),
            TaskCreate(phase="Containment", name="Block malicious indicators", sla_minutes=120),
            TaskCreate(phase="Containment", name="Preserve evidence", sla_minutes=240),
        ],
    ),
    PhaseSpec(
        name="Eradication",
        sla_minutes=1440,
        tasks=[
            TaskCreate(phase="Eradication", name="Remove malicious artifacts", sla_minutes=1440),
            TaskCreate(phase="Eradication", name="Reset compromised credentials", sla_minutes=720),
        ],
    ),
    PhaseSpec(
        name="Recovery",
        sla_minutes=2880,
        tasks=[
            TaskCreate(phase="Recovery", name="Restore normal operation", sla_minutes=2880),
            TaskCreate(phase="Recovery", name="Watch for recurrence", sla_minutes=2880),
        ],
    ),
    PhaseSpec(
        name="Post-Incident Activity",
        sla_minutes=10080,
        tasks=[
            TaskCreate(
                phase="Post-Incident Activity",
                name="Hold a lessons-learned review",
                sla_minutes=10080,
            ),
            TaskCreate(
                phase="Post-Incident Activity",
                name="Improve detections and playbooks",
                sla_minutes=10080,
            ),
        ],
    ),
)
TEMPLATES: dict[str, tuple[PhaseSpec, ...]] = {"nist-800-61": NIST_800_61}


def _due(now: datetime, minutes: int | None) -> datetime | None:
    return now + timedelta(minutes=minutes) if minutes else None


async def _phase_id(
    conn: Any, *, event_id: UUID, name: str, owner: str | None, sla: int | None, now: datetime
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
    conn: Any, *, event_id: UUID, task: TaskCreate, now: datetime
) -> TaskCreated | None:
    """Add a task (and its phase if new); the message to announce it, None if it existed."""
    phase_id = await _phase_id(
        conn, event_id=event_id, name=task.phase, owner=None, sla=None, now=now
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
    conn: Any,
    *,
    event_id: UUID,
    phases: tuple[PhaseSpec, ...] | list[PhaseSpec],
    now: datetime,
    owner: str | None = None,
) -> list[TaskCreated]:
    """Add phases with their tasks; the messages announcing each new task."""
    created: list[TaskCreated] = []
    for phase in phases:
        await _phase_id(
            conn,
            event_id=event_id,
            name=phase.name,
            owner=phase.owner or owner,
            sla=phase.sla_minutes,
            now=now,
        )
        for task in phase.tasks:
            message = await add_task(
                conn,
                event_id=event_id,
                task=task.model_copy(update={"phase": phase.name}),
                now=now,
            )
            if message is not None:
                created.append(message)
    return created


async def complete_task(
    conn: Any,
    *,
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


async def load(conn: Any, *, event_id: UUID) -> list[PhasePublic]:
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


async def mark_breached(conn: Any, *, kind: str, subject_id: UUID, at: datetime) -> bool:
    """Record that a phase's or task's due time passed."""
    table = {"phase": "phases", "task": "tasks"}[kind]
    status = await conn.execute(
        f"UPDATE {SCHEMA}.{table} SET sla_breached_at = $2 "
        "WHERE id = $1 AND sla_breached_at IS NULL",
        subject_id,
        at,
    )
    return bool(status.endswith(" 1"))
