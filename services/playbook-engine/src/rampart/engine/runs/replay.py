"""The replay pass: lock a run, record the result that arrived, replay, carry out what is new.

Everything happens in the caller's transaction, with the run's row locked (``FOR UPDATE``):
two replicas never advance one run at once, and the history, the run's state and the
outgoing messages (``action.requested`` keyed ``{run_id}:{seq}``) commit together or not at
all. A process killed mid-pass leaves nothing behind; the message that woke the run is
redelivered and the pass runs again, issuing the same keys.
"""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from rampart.core.deps import Conn
from rampart.core.envelope import Envelope
from rampart.core.errors import TransientError
from rampart.core.messages import Message, PlaybookRunCompleted, PlaybookRunStarted
from rampart.core.store import Record
from rampart.engine.config import SCHEMA
from rampart.engine.playbooks.versions import PlaybookVersion
from rampart.engine.runs import commands
from rampart.engine.runs.store import TERMINAL, failed, finish, lock_run, send
from rampart.engine.sandbox.processes import ProcessDied, StepTimeout
from rampart.engine.sandbox.protocol import Aborted, Failed, Invalid, Replay, Replayed
from rampart.engine.state import Engine
from rampart.engine.steps import Step, command_of

log = logging.getLogger(__name__)


async def advance(
    *,
    conn: Conn,
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
        run = await lock_run(conn=conn, run_id=run_id, timeout_s=engine.config.lock_timeout_s)
    except TimeoutError as exc:
        raise TransientError(f"run {run_id} is busy on another replica") from exc
    if run is None or run["status"] in TERMINAL:
        return None
    next_order: int = run["next_order"]
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
        Step(
            seq=r["seq"],
            command=command_of(r["kind"], r["command"]),
            result=r["result"],
            order=r["result_order"],
        )
        for r in await conn.fetch(
            f"SELECT seq, kind, command, result, result_order FROM {SCHEMA}.history "
            "WHERE run_id = $1 ORDER BY seq",
            run_id,
        )
    ]
    replayed = await _pass(engine, version, run, history)
    return await _apply(
        conn=conn, run=run, version=version, replayed=replayed, next_order=next_order, cause=cause
    )


async def lookup(engine: Engine, what: str, args: dict[str, Any]) -> Any:
    """Answer a playbook's lookup during a pass (``ctx.assets``)."""
    if what == "assets":
        return await engine.assets.names(tag=args.get("tag"), action=args.get("action"))
    raise ValueError(f"unknown lookup {what!r}")


async def _pass(
    engine: Engine, version: PlaybookVersion, run: Record, history: list[Step]
) -> Replayed:
    request = Replay(
        digest=version.digest,
        filename=version.filename,
        run_id=run["id"],
        event=run["event"],
        history=history,
        max_steps=version.budget.steps,
    )

    async def answer(what: str, args: dict[str, Any]) -> Any:
        return await lookup(engine, what, args)

    try:
        reply = await engine.processes.request(
            request,
            budget_s=version.budget.step_seconds,
            source=(version.digest, version.source),
            call=answer,
        )
    except (StepTimeout, ProcessDied) as exc:
        return Replayed(outcome="failed", error=str(exc))
    match reply:
        case Replayed():
            return reply
        case Aborted():
            raise TransientError(f"run {run['id']}: {reply.error}")
        case Invalid():
            error = f"the playbook's source does not load: {reply.error}"
            return Replayed(outcome="failed", error=error)
        case Failed():
            error = f"the engine could not replay the run: {reply.error}"
            return Replayed(outcome="failed", error=error)
        case _:
            error = f"the engine could not replay the run: the process answered {reply.op!r}"
            return Replayed(outcome="failed", error=error)


async def _apply(
    *,
    conn: Conn,
    run: Record,
    version: PlaybookVersion,
    replayed: Replayed,
    next_order: int,
    cause: Envelope | None,
) -> str:
    run_id: UUID = run["id"]
    outcome, error = replayed.outcome, replayed.error
    messages: list[Message] = []
    if run["status"] == "pending":
        messages.append(
            PlaybookRunStarted(
                run_id=run_id,
                playbook=version.name,
                version=version.version,
                event_id=run["event_id"],
            )
        )
    try:
        messages.extend(await commands.record(conn=conn, run=run, steps=replayed.commands))
    except commands.BadCommand as exc:
        outcome, error = "failed", str(exc)
    steps = run["steps"] + len(replayed.commands)
    status = outcome if outcome in ("completed", "waiting") else "failed"
    await conn.execute(
        f"UPDATE {SCHEMA}.runs SET status = $2, steps = $3, passes = passes + 1, "
        "next_order = $4, result = $5, error = $6, updated_at = now(), "
        "finished_at = CASE WHEN $2 IN ('completed', 'failed') THEN now() END WHERE id = $1",
        run_id,
        status,
        steps,
        next_order,
        replayed.value if status == "completed" else None,
        error if status == "failed" else None,
    )
    if status == "completed":
        messages.append(
            PlaybookRunCompleted(
                run_id=run_id, playbook=version.name, event_id=run["event_id"], steps=steps
            )
        )
    elif status == "failed":
        log.warning("playbook run failed: %s", error, extra={"run_id": str(run_id)})
        messages.append(failed(run, str(error)))
    if status in TERMINAL:
        await finish(conn=conn, run=run, status=status, value=replayed.value, error=error)
    await send(conn=conn, run=run, messages=messages, cause=cause)
    return status
