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
from asyncpg.exceptions import PostgresConnectionError

from rampart.core.deps import Conn
from rampart.core.errors import TransientError
from rampart.core.workers import cancel_requested
from rampart.engine.config import SCHEMA
from rampart.engine.runs.replay import advance
from rampart.engine.runs.store import stop_run
from rampart.engine.runs.timers import NOTIFY_CHANNEL
from rampart.engine.runs.triggers import run_due_jobs
from rampart.engine.state import Engine

log = logging.getLogger(__name__)


RETRY_CAP_S = 60.0


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
    """Count the failure and try the timer later; past the limit, fail its run instead."""
    reason = f"{type(error).__name__}: {error}".replace("\x00", "")[:2000]
    # an outage says nothing of the timer: it waits for the dependency without running out
    counts = not isinstance(error, TransientError | OSError | PostgresConnectionError)
    async with conn.transaction():
        attempts = await conn.fetchval(
            f"UPDATE {SCHEMA}.run_timers SET attempts = attempts + $2, last_error = $3, "
            "due_at = now() + make_interval(secs => least($4 * power(2, attempts), $5)) "
            "WHERE id = $1 RETURNING attempts",
            timer["id"],
            1 if counts else 0,
            reason,
            engine.config.timer_retry_s,
            RETRY_CAP_S,
        )
        if attempts is not None and attempts >= engine.config.timer_attempts:
            await conn.execute(f"DELETE FROM {SCHEMA}.run_timers WHERE id = $1", timer["id"])
            await stop_run(
                conn=conn,
                run_id=timer["run_id"],
                status="failed",
                reason=f"the engine failed {attempts} times to act on the run's {timer['kind']} "
                f"timer: {reason}",
            )
    log.warning(
        "acting on %s timer of run %s failed (attempt %s); tried again later: %s",
        timer["kind"],
        timer["run_id"],
        attempts,
        reason,
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
