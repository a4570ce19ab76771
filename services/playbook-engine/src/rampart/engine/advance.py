"""Advancing a run: lock it, record the result that arrived, replay, carry out what is new.

Everything happens in the caller's transaction, with the run's row locked (``FOR UPDATE``):
two replicas never advance one run at once, and the history, the run's state and the
outgoing messages (``action.requested`` keyed ``{run_id}:{seq}``) commit together or not at
all. A process killed mid-pass leaves nothing behind; the message that woke the run is
redelivered and the pass runs again, issuing the same keys.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from rampart.core.envelope import Envelope
from rampart.core.errors import TransientError
from rampart.core.messages import (
    Message,
    PlaybookRunCompleted,
    PlaybookRunFailed,
    PlaybookRunStarted,
)
from rampart.core.outbox import enqueue
from rampart.engine import commands as commands_
from rampart.engine import timers
from rampart.engine.commands import create_run, requester
from rampart.engine.processes import ProcessDied, StepTimeout
from rampart.engine.versions import SCHEMA, PlaybookVersion

__all__ = ["TERMINAL", "advance", "create_run", "finish", "requester", "stop_run"]

if TYPE_CHECKING:
    from rampart.engine.engine import Engine

log = logging.getLogger(__name__)

SOURCE = "rampart/playbook-engine"
TERMINAL = frozenset({"completed", "failed", "cancelled"})
_RUN = (
    "id, playbook, version, event_id, status, trigger, parent_run_id, parent_seq, event, "
    "steps, passes, next_order, requested_by, created_at"
)


async def advance(
    *,
    conn: Any,
    engine: Engine,
    run_id: UUID,
    result: tuple[int, Any] | None = None,
    kind: str | None = None,
    cause: Envelope | None = None,
) -> str | None:
    """Record ``result`` (step, value) if given, then run one pass; returns the run's status.

    ``kind``, if given, is the kind of command the result must answer. Returns None when
    nothing happened: unknown or finished run, or a result already recorded (a duplicate).
    """
    try:
        # the wait is bounded: a replica stuck with the lock must not hold this message forever
        run = await conn.fetchrow(
            f"SELECT {_RUN} FROM {SCHEMA}.runs WHERE id = $1 FOR UPDATE",
            run_id,
            timeout=engine.config.lock_timeout_s,
        )
    except TimeoutError as exc:
        raise TransientError(f"run {run_id} is busy on another replica") from exc
    if run is None or run["status"] in TERMINAL:
        return None
    next_order = run["next_order"]
    if result is not None:
        recorded = await conn.fetchval(
            f"UPDATE {SCHEMA}.history SET status = 'done', result = $3, result_order = $4, "
            "completed_at = now() WHERE run_id = $1 AND seq = $2 AND status = 'pending' "
            "AND ($5::text IS NULL OR kind = $5) RETURNING seq",
            run_id,
            result[0],
            result[1],
            next_order,
            kind,
        )
        if recorded is None:
            return None
        next_order += 1
    version = await engine.version(conn=conn, name=run["playbook"], version=run["version"])
    assert version is not None  # a foreign key keeps it
    history = [
        {
            "seq": r["seq"],
            "kind": r["kind"],
            "command": r["command"],
            "result": r["result"],
            "order": r["result_order"],
        }
        for r in await conn.fetch(
            f"SELECT seq, kind, command, result, result_order FROM {SCHEMA}.history "
            "WHERE run_id = $1 ORDER BY seq",
            run_id,
        )
    ]
    reply = await _pass(engine, version, run, history)
    return await _apply(
        conn=conn,
        engine=engine,
        run=run,
        version=version,
        reply=reply,
        next_order=next_order,
        cause=cause,
    )


async def _pass(
    engine: Engine, version: PlaybookVersion, run: Any, history: list[dict[str, Any]]
) -> dict[str, Any]:
    request = {
        "op": "replay",
        "digest": version.digest,
        "filename": version.filename,
        "event": run["event"],
        "history": history,
        "max_steps": version.budget.steps,
        "run_id": str(run["id"]),
    }
    try:
        reply = await engine.processes.request(
            request,
            budget_s=version.budget.step_seconds,
            source=(version.digest, version.source),
            call=engine.lookup,
        )
    except (StepTimeout, ProcessDied) as exc:
        return {"op": "replayed", "outcome": "failed", "error": str(exc), "commands": []}
    op = reply.get("op")
    if op == "aborted":
        raise TransientError(f"run {run['id']}: {reply.get('error')}")
    if op == "invalid":
        error = f"the playbook's source does not load: {reply.get('error')}"
        return {"op": "replayed", "outcome": "failed", "error": error, "commands": []}
    if op != "replayed":
        error = f"the engine could not replay the run: {reply.get('error')}"
        return {"op": "replayed", "outcome": "failed", "error": error, "commands": []}
    return reply


async def _apply(
    *,
    conn: Any,
    engine: Engine,
    run: Any,
    version: PlaybookVersion,
    reply: dict[str, Any],
    next_order: int,
    cause: Envelope | None,
) -> str:
    run_id: UUID = run["id"]
    outcome = reply["outcome"]
    error = reply.get("error")
    commands: list[dict[str, Any]] = reply.get("commands") or []
    envelopes: list[Envelope] = []
    if run["status"] == "pending":
        envelopes.append(
            _wrap(
                PlaybookRunStarted(
                    run_id=run_id,
                    playbook=version.name,
                    version=version.version,
                    event_id=run["event_id"],
                ),
                run,
                cause,
            )
        )
    try:
        sent = await commands_.record(conn=conn, run=run, commands=commands)
        envelopes.extend(_wrap(m, run, cause) for m in sent)
    except commands_.BadCommand as exc:
        outcome, error = "failed", str(exc)
    steps = run["steps"] + len(commands)
    status = {"completed": "completed", "waiting": "waiting"}.get(outcome, "failed")
    await conn.execute(
        f"UPDATE {SCHEMA}.runs SET status = $2, steps = $3, passes = passes + 1, "
        "next_order = $4, result = $5, error = $6, updated_at = now(), "
        "finished_at = CASE WHEN $2 IN ('completed', 'failed') THEN now() END WHERE id = $1",
        run_id,
        status,
        steps,
        next_order,
        reply.get("value") if status == "completed" else None,
        error if status == "failed" else None,
    )
    if status == "completed":
        envelopes.append(
            _wrap(
                PlaybookRunCompleted(
                    run_id=run_id, playbook=version.name, event_id=run["event_id"], steps=steps
                ),
                run,
                cause,
            )
        )
    elif status == "failed":
        log.warning("playbook run failed: %s", error, extra={"run_id": str(run_id)})
        envelopes.append(_failed(run, str(error), cause))
    if status in TERMINAL:
        await finish(conn=conn, run=run, status=status, value=reply.get("value"), error=error)
    await enqueue(conn=conn, schema=SCHEMA, envelopes=envelopes)
    return status


def _wrap(message: Message, run: Any, cause: Envelope | None) -> Envelope:
    return Envelope.wrap(
        message,
        source=SOURCE,
        subject=str(run["id"]),
        cause=cause,
        correlation_id=str(run["event_id"]),
    )


def _failed(run: Any, reason: str, cause: Envelope | None) -> Envelope:
    return _wrap(
        PlaybookRunFailed(
            run_id=run["id"], playbook=run["playbook"], event_id=run["event_id"], reason=reason
        ),
        run,
        cause,
    )


async def finish(
    *, conn: Any, run: Any, status: str, value: Any = None, error: str | None = None
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
    *, conn: Any, run_id: UUID, status: str, reason: str, cause: Envelope | None = None
) -> bool:
    """Fail or cancel a run that has not finished, with the reason; False if it had."""
    run = await conn.fetchrow(f"SELECT {_RUN} FROM {SCHEMA}.runs WHERE id = $1 FOR UPDATE", run_id)
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
    await enqueue(conn=conn, schema=SCHEMA, envelopes=[_failed(run, reason, cause)])
    children = await conn.fetch(
        f"SELECT id FROM {SCHEMA}.runs WHERE parent_run_id = $1 "
        "AND status NOT IN ('completed', 'failed', 'cancelled')",
        run_id,
    )
    for child in children:
        await stop_run(conn=conn, run_id=child["id"], status=status, reason=f"parent {reason}")
    return True
