"""Action results advance the runs that asked for them."""

from __future__ import annotations

from uuid import UUID

from rampart.core.consumers import Queue
from rampart.core.deps import Conn
from rampart.core.envelope import Envelope
from rampart.core.messages import ActionCompleted
from rampart.engine.runs.replay import advance
from rampart.engine.state import Engine

results = Queue("engine.results", prefetch=16)


def parse_request_key(key: str) -> tuple[UUID, int] | None:
    """(run id, step) from an ``action.requested`` key the engine made; None if not one."""
    run, _, seq = key.rpartition(":")
    try:
        return UUID(run), int(seq)
    except ValueError:
        return None


@results.on(ActionCompleted)
async def on_action_completed(
    conn: Conn, message: ActionCompleted, envelope: Envelope, engine: Engine
) -> None:
    """Record an action's result at its step and advance the run."""
    parsed = parse_request_key(message.request_key)
    if parsed is None:
        return  # not requested by a playbook run
    run_id, seq = parsed
    result = {
        "status": message.status,
        "message": message.message,
        "results": [r.model_dump(mode="json") for r in message.results],
    }
    await advance(
        conn=conn, engine=engine, run_id=run_id, result=(seq, result), kind="act", cause=envelope
    )
