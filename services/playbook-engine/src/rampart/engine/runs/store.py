"""Runs in the store: create one, read them with a timeline, end one and tidy what it leaves."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from rampart.core.deps import Conn
from rampart.core.envelope import Envelope
from rampart.core.errors import ConflictError, NotFoundError
from rampart.core.ids import uuid7
from rampart.core.messages import Message, PlaybookRunFailed
from rampart.core.outbox import Publisher
from rampart.core.store import Record
from rampart.engine.config import SCHEMA, SOURCE
from rampart.engine.models import RunDetail, RunPublic, TimelineEntry
from rampart.engine.playbooks.versions import PlaybookVersion
from rampart.engine.runs import timers
from rampart.engine.steps import command_of

publish = Publisher(schema=SCHEMA, source=SOURCE)

TERMINAL = frozenset({"completed", "failed", "cancelled"})
LOCKED = (
    "id, playbook, version, event_id, status, trigger, parent_run_id, parent_seq, event, "
    "steps, passes, next_order, requested_by, created_at"
)
"""The columns of a run that a pass works with."""

_PUBLIC = (
    "id, playbook, version, event_id, status, trigger, parent_run_id, steps, passes, result, "
    "error, requested_by, created_at, updated_at, finished_at"
)


class RunEnded(ConflictError):
    """The run has already ended; ``run_status`` is how."""

    def __init__(self, run_id: UUID, run_status: str) -> None:
        super().__init__(f"run {run_id} already ended: {run_status}")
        self.run_status = run_status


def requester(name: str, run_id: UUID) -> str:
    """Who a run's requests are from, as actions and event changes record it."""
    return f"playbook:{name}:{run_id}"


async def send(*, conn: Conn, run: Record, messages: list[Message], cause: Envelope | None) -> None:
    """Publish ``messages`` about ``run``, correlated with its event unless ``cause`` says."""
    await publish(
        conn, *messages, subject=str(run["id"]), cause=cause, correlation_id=str(run["event_id"])
    )


def failed(run: Record, reason: str) -> PlaybookRunFailed:
    """The announcement that ``run`` failed (or was cancelled), with the reason."""
    return PlaybookRunFailed(
        run_id=run["id"], playbook=run["playbook"], event_id=run["event_id"], reason=reason
    )


async def create_run(
    *,
    conn: Conn,
    version: PlaybookVersion,
    event: dict[str, Any],
    trigger: str,
    trigger_ref: str | None,
    requested_by: str,
    parent: tuple[UUID, int] | None = None,
) -> UUID | None:
    """Insert a pending run with its deadline; None if this trigger already started it."""
    run_id = uuid7()
    inserted = await conn.fetchval(
        f"INSERT INTO {SCHEMA}.runs (id, playbook, version, event_id, status, trigger, "
        "trigger_ref, parent_run_id, parent_seq, event, requested_by) "
        "VALUES ($1, $2, $3, $4, 'pending', $5, $6, $7, $8, $9, $10) "
        "ON CONFLICT DO NOTHING RETURNING id",
        run_id,
        version.name,
        version.version,
        UUID(event["id"]),
        trigger,
        trigger_ref,
        parent[0] if parent else None,
        parent[1] if parent else None,
        event,
        requested_by,
    )
    if inserted is None:
        return None
    if version.budget.duration is not None:
        await timers.add(
            conn=conn,
            run_id=run_id,
            kind="deadline",
            due_at=datetime.now(UTC) + version.budget.duration,
        )
    return run_id


async def lock_run(*, conn: Conn, run_id: UUID, timeout_s: float | None = None) -> Record | None:
    """The run's row, locked for this transaction (``TimeoutError`` past ``timeout_s``)."""
    return await conn.fetchrow(
        f"SELECT {LOCKED} FROM {SCHEMA}.runs WHERE id = $1 FOR UPDATE", run_id, timeout=timeout_s
    )


async def finish(
    *, conn: Conn, run: Record, status: str, value: Any = None, error: str | None = None
) -> None:
    """Tidy a run that reached its end: timers, open prompts, and its parent's wake-up."""
    await conn.execute(f"DELETE FROM {SCHEMA}.run_timers WHERE run_id = $1", run["id"])
    await conn.execute(
        f"UPDATE {SCHEMA}.prompts SET status = 'cancelled' "
        "WHERE run_id = $1 AND status = 'pending'",
        run["id"],
    )
    if run["parent_run_id"] is not None:
        outcome = {"status": status, "value": value, "error": error}
        await timers.add(
            conn=conn,
            run_id=run["parent_run_id"],
            kind="result",
            seq=run["parent_seq"],
            result=outcome,
            due_at=datetime.now(UTC),
        )


async def stop_run(
    *, conn: Conn, run_id: UUID, status: str, reason: str, cause: Envelope | None = None
) -> bool:
    """Fail or cancel a run that has not finished, with the reason; False if it had."""
    run = await lock_run(conn=conn, run_id=run_id)
    if run is None or run["status"] in TERMINAL:
        return False
    await conn.execute(
        f"UPDATE {SCHEMA}.runs SET status = $2, error = $3, updated_at = now(), "
        "finished_at = now() WHERE id = $1",
        run_id,
        status,
        reason,
    )
    await finish(conn=conn, run=run, status=status, error=reason)
    await send(conn=conn, run=run, messages=[failed(run, reason)], cause=cause)
    children = await conn.fetch(
        f"SELECT id FROM {SCHEMA}.runs WHERE parent_run_id = $1 "
        "AND status NOT IN ('completed', 'failed', 'cancelled')",
        run_id,
    )
    for child in children:
        await stop_run(conn=conn, run_id=child["id"], status=status, reason=f"parent {reason}")
    return True


async def list_runs(
    *,
    conn: Conn,
    playbook: str | None,
    event_id: UUID | None,
    status: str | None,
    limit: int,
) -> list[RunPublic]:
    """Runs, newest first, filtered by playbook, event and status."""
    rows = await conn.fetch(
        f"SELECT {_PUBLIC} FROM {SCHEMA}.runs WHERE ($1::text IS NULL OR playbook = $1) "
        "AND ($2::uuid IS NULL OR event_id = $2) AND ($3::text IS NULL OR status = $3) "
        "ORDER BY created_at DESC, id DESC LIMIT $4",
        playbook,
        event_id,
        status,
        limit,
    )
    return [RunPublic(**dict(r)) for r in rows]


async def get_public(*, conn: Conn, run_id: UUID) -> RunPublic | None:
    """One run as the API lists it."""
    row = await conn.fetchrow(f"SELECT {_PUBLIC} FROM {SCHEMA}.runs WHERE id = $1", run_id)
    return RunPublic(**dict(row)) if row is not None else None


async def get_run(*, conn: Conn, run_id: UUID) -> RunDetail:
    """One run with its timeline: every command, its result, and the log lines."""
    row = await conn.fetchrow(f"SELECT {_PUBLIC}, event FROM {SCHEMA}.runs WHERE id = $1", run_id)
    if row is None:
        raise NotFoundError(f"no run {run_id}")
    steps = await conn.fetch(
        f"SELECT seq, kind, command, status, result, created_at, completed_at "
        f"FROM {SCHEMA}.history WHERE run_id = $1 ORDER BY seq",
        run_id,
    )
    timeline = [
        TimelineEntry(
            seq=s["seq"],
            kind=s["kind"],
            summary=command_of(s["kind"], s["command"]).summary(),
            command=s["command"],
            status=s["status"],
            result=s["result"],
            created_at=s["created_at"],
            completed_at=s["completed_at"],
        )
        for s in steps
    ]
    return RunDetail(**dict(row), timeline=timeline)


async def cancel_run(*, conn: Conn, run_id: UUID, by: str) -> RunPublic:
    """Cancel a run that has not finished (and its children)."""
    async with conn.transaction():
        stopped = await stop_run(
            conn=conn, run_id=run_id, status="cancelled", reason=f"cancelled by {by}"
        )
        found = await get_public(conn=conn, run_id=run_id)
    if found is None:
        raise NotFoundError(f"no run {run_id}")
    if not stopped:
        raise RunEnded(run_id, found.status)
    return found
