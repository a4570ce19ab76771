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

from asyncpg import Record

from rampart.core.deps import Conn
from rampart.core.workers import cancel_requested
from rampart.engine.config import SCHEMA
from rampart.engine.runs import attempts
from rampart.engine.runs.replay import advance
from rampart.engine.runs.store import stop_run
from rampart.engine.runs.timers import NOTIFY_CHANNEL
from rampart.engine.runs.triggers import run_due_jobs
from rampart.engine.state import Engine

log = logging.getLogger(__name__)


async def fire_one(*, conn: Conn, engine: Engine) -> bool:
    """Claim one due timer and act on it in one transaction; False when none is due.

    A timer whose action fails is put back with a later due time, so it never holds up the
    timers behind it; one that keeps failing on its data fails its run with the reason.
    """
    try:
        return await _fire(conn=conn, engine=engine)
    except _Failed as failed:
        if cancel_requested():
            raise failed.error from None
        await _defer(conn=conn, engine=engine, timer=failed.row, error=failed.error)
    return True


class _Failed(Exception):
    def __init__(self, row: Record, error: Exception) -> None:
        super().__init__(str(error))
        self.row = row
        self.error = error


async def _defer(*, conn: Conn, engine: Engine, timer: Record, error: Exception) -> None:
    """Count the failure and try the timer later; past the limit, fail its run instead.

    The count is committed on its own before the run is failed, so a run whose failure cannot
    be recorded either keeps its count: the timer waits its backoff and ends the run next time.
    """
    why = attempts.reason(error)
    async with conn.transaction():
        counted = await conn.fetchval(
            f"UPDATE {SCHEMA}.run_timers SET attempts = attempts + $2, last_error = $3, "
            f"due_at = now() + {attempts.BACKOFF_SQL.format(retry='$4', cap='$5')} "
            "WHERE id = $1 RETURNING attempts",
            timer["id"],
            1 if attempts.counts(error) else 0,
            why,
            engine.config.timer_retry_s,
            attempts.RETRY_CAP_S,
        )
    log.warning(
        "acting on %s timer of run %s failed (attempt %s); tried again later: %s",
        timer["kind"],
        timer["run_id"],
        counted,
        why,
    )
    if counted is None or counted < engine.config.timer_attempts:
        return
    try:
        async with conn.transaction():
            await conn.execute(f"DELETE FROM {SCHEMA}.run_timers WHERE id = $1", timer["id"])
            await stop_run(
                conn=conn,
                run_id=timer["run_id"],
                status="failed",
                reason=f"the engine failed {counted} times to act on the run's {timer['kind']} "
                f"timer: {why}",
            )
    except Exception as exc:
        if cancel_requested():
            raise
        log.error(
            "failing run %s after its %s timer's last attempt failed too; tried again later: %s",
            timer["run_id"],
            timer["kind"],
            attempts.reason(exc),
        )


async def _fire(*, conn: Conn, engine: Engine) -> bool:
    async with conn.transaction():
        row = await conn.fetchrow(
            f"SELECT id, run_id, kind, seq, result FROM {SCHEMA}.run_timers "
            "WHERE due_at <= now() ORDER BY due_at LIMIT 1 FOR UPDATE SKIP LOCKED"
        )
        if row is None:
            return False
        try:
            await _act(conn=conn, engine=engine, row=row)
        except Exception as exc:
            raise _Failed(row, exc) from exc
        return True


async def _act(*, conn: Conn, engine: Engine, row: Record) -> None:
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
                return  # answered first: that answer is the result
        await advance(conn=conn, engine=engine, run_id=row["run_id"], result=(row["seq"], result))


@contextlib.asynccontextmanager
async def running(engine: Engine) -> AsyncIterator[None]:
    """Fire due timers and retry trigger jobs while the engine runs (a ``ServiceSpec`` worker)."""
    interval_s, concurrency = engine.config.timer_interval_s, engine.config.processes
    wake = asyncio.Event()

    def on_notify(_payload: str | None) -> None:
        wake.set()

    await engine.notifications.listen(NOTIFY_CHANNEL, on_notify)

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
        await engine.notifications.unlisten(NOTIFY_CHANNEL, on_notify)
