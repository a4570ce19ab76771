"""The engine's wake-up loop: fire due run timers, and retry trigger jobs that wait for ingest.

The loop wakes on NOTIFY (a timer due now) and every ``timer_interval_s`` anyway; each round
drains the due timers with ``processes`` passes in parallel, each timer claimed by exactly
one replica (``FOR UPDATE SKIP LOCKED``) and acted on in its transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from uuid import UUID

from rampart.core.deps import Conn
from rampart.engine.config import SCHEMA
from rampart.engine.runs.replay import advance
from rampart.engine.runs.store import stop_run
from rampart.engine.runs.timers import NOTIFY_CHANNEL
from rampart.engine.runs.triggers import run_due_jobs
from rampart.engine.state import Engine

log = logging.getLogger(__name__)


async def fire_one(*, conn: Conn, engine: Engine) -> bool:
    """Claim one due timer and act on it in one transaction; False when none is due."""
    async with conn.transaction():
        row = await conn.fetchrow(
            f"SELECT id, run_id, kind, seq, result FROM {SCHEMA}.run_timers "
            "WHERE due_at <= now() ORDER BY due_at LIMIT 1 FOR UPDATE SKIP LOCKED"
        )
        if row is None:
            return False
        await conn.execute(f"DELETE FROM {SCHEMA}.run_timers WHERE id = $1", row["id"])
        if row["kind"] == "deadline":
            await stop_run(
                conn=conn,
                run_id=row["run_id"],
                status="failed",
                reason="the run blew its time budget (Budget.duration) before it finished",
            )
        elif row["kind"] == "start":
            await advance(conn=conn, engine=engine, run_id=row["run_id"])
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
            await advance(
                conn=conn, engine=engine, run_id=row["run_id"], result=(row["seq"], result)
            )
        return True


@contextlib.asynccontextmanager
async def running(engine: Engine) -> AsyncIterator[None]:
    """Fire due timers and retry trigger jobs while the engine runs (a ``ServiceSpec`` worker)."""
    interval_s, concurrency = engine.config.timer_interval_s, engine.config.processes
    wake = asyncio.Event()
    listener = await engine.pool.acquire()

    def on_notify(*_args: object) -> None:
        wake.set()

    await listener.add_listener(NOTIFY_CHANNEL, on_notify)

    async def drain() -> None:
        async with engine.pool.acquire() as conn:
            while await fire_one(conn=conn, engine=engine):
                pass

    async def loop() -> None:
        while True:
            wake.clear()
            results = await asyncio.gather(
                *(drain() for _ in range(concurrency)),
                run_due_jobs(engine),
                return_exceptions=True,
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
