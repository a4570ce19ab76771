"""Durable wake-ups of runs: rows with a due time, fired once by whichever replica claims them.

The same loop retries trigger jobs that could not start their playbooks yet.

Kinds: ``start`` (a run to begin: by hand or a child), ``result`` (a result to record at a
step: a sleep ending, a prompt answered or timing out, a child's outcome) and ``deadline``
(the run's time budget). A due-now row wakes the loops of every replica through NOTIFY.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from rampart.core.ids import uuid7
from rampart.engine.versions import SCHEMA

if TYPE_CHECKING:
    from rampart.engine.engine import Engine

log = logging.getLogger(__name__)

NOTIFY_CHANNEL = "rampart_engine_timers"


async def add(
    *,
    conn: Any,
    run_id: UUID,
    kind: str,
    due_at: datetime,
    seq: int | None = None,
    result: Any = None,
) -> None:
    """Schedule a wake-up of ``run_id``; replicas hear of it when the transaction commits."""
    await conn.execute(
        f"INSERT INTO {SCHEMA}.run_timers (id, run_id, kind, seq, result, due_at) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        uuid7(),
        run_id,
        kind,
        seq,
        result,
        due_at,
    )
    await conn.execute("SELECT pg_notify($1, $2)", NOTIFY_CHANNEL, str(due_at.timestamp()))


async def fire_one(*, conn: Any, engine: Engine) -> bool:
    """Claim one due timer and act on it in one transaction; False when none is due."""
    from rampart.engine import advance

    async with conn.transaction():
        row = await conn.fetchrow(
            f"SELECT id, run_id, kind, seq, result FROM {SCHEMA}.run_timers "
            "WHERE due_at <= now() ORDER BY due_at LIMIT 1 FOR UPDATE SKIP LOCKED"
        )
        if row is None:
            return False
        await conn.execute(f"DELETE FROM {SCHEMA}.run_timers WHERE id = $1", row["id"])
        if row["kind"] == "deadline":
            await advance.stop_run(
                conn=conn,
                run_id=row["run_id"],
                status="failed",
                reason="the run blew its time budget (Budget.duration) before it finished",
            )
        elif row["kind"] == "start":
            await advance.advance(conn=conn, engine=engine, run_id=row["run_id"])
        else:
            result = row["result"] or {}
            if isinstance(result, dict) and result.get("expired") and result.get("prompt_id"):
                expired = await conn.fetchval(
                    f"UPDATE {SCHEMA}.prompts SET status = 'expired' "
                    "WHERE id = $1 AND status = 'pending' RETURNING id",
                    UUID(result["prompt_id"]),
                )
                if expired is None:
                    return True  # answered first: that answer is the result
            await advance.advance(
                conn=conn, engine=engine, run_id=row["run_id"], result=(row["seq"], result)
            )
        return True


@contextlib.asynccontextmanager
async def running(engine: Engine, *, interval_s: float, concurrency: int) -> Any:
    """Fire due timers while the engine runs: on NOTIFY, and every ``interval_s`` anyway."""
    wake = asyncio.Event()
    listener = await engine.pool.acquire()

    def on_notify(*_args: object) -> None:
        wake.set()

    await listener.add_listener(NOTIFY_CHANNEL, on_notify)

    async def drain() -> None:
        async with engine.pool.acquire() as conn:
            while await fire_one(conn=conn, engine=engine):
                pass

    async def retry_triggers() -> None:
        from rampart.engine.triggers import run_due_jobs

        await run_due_jobs(engine)

    async def loop() -> None:
        while True:
            wake.clear()
            results = await asyncio.gather(
                *(drain() for _ in range(concurrency)), retry_triggers(), return_exceptions=True
            )
            for failure in results:
                if isinstance(failure, Exception):
                    log.warning("firing run timers failed; retrying: %s", failure)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), interval_s)

    task = asyncio.create_task(loop(), name="engine-timers")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        with contextlib.suppress(Exception):
            await listener.remove_listener(NOTIFY_CHANNEL, on_notify)
        await engine.pool.release(listener)
