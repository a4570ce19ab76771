"""Connector runners: take a run from the connector's queue, run it once, record the attempt.

A runner claims a queued run and a slot of its asset in one transaction (the slots make the
asset's concurrency limit hold across every replica), fetches the asset's sealed configuration
from the registry, opens it here and nowhere else, and runs the action under a timeout while a
heartbeat renews its lease. A transient failure (the product unreachable, 429/5xx, a timeout of
a retry-safe action) is tried again later with backoff; a timeout of an action that is not
retry-safe ends ``unknown``, since it may have taken effect.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import httpx
from pydantic import BaseModel

from rampart.broker.runs import end_run, wake_waiting
from rampart.broker.state import SCHEMA, BrokerState
from rampart.core.asset_config import open_config
from rampart.core.consumers import Queue
from rampart.core.crypto import DecryptionError
from rampart.core.deps import Conn
from rampart.core.envelope import Envelope
from rampart.core.errors import PermanentError, TransientError
from rampart.core.messages import ActionDispatched, ActionStarted
from rampart.core.store import Record
from rampart.core.workers import cancel_requested
from rampart.sdk.connector import ActionContext

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one attempt ended."""

    kind: str  # success | failed | transient | timeout
    error: str = ""
    result: dict[str, Any] | None = None
    retry_after: float | None = None  # the product's own wait before the next attempt


def runner_queue(connector: str) -> Queue:
    """The queue of one connector's work: only ``action.dispatched`` with its name as topic."""
    queue = Queue(f"connector.{connector}", topic=connector)
    queue.on(ActionDispatched, transaction=False)(run_dispatched)
    return queue


async def _free_slot(*, conn: Conn, state: BrokerState, run: Record) -> int | None:
    lease = state.settings.lease_s
    free = await conn.fetch(
        "SELECT s FROM generate_series(0, $2::int - 1) s WHERE NOT EXISTS ("
        f"SELECT 1 FROM {SCHEMA}.asset_slots WHERE asset_id = $1 AND slot = s "
        "AND lease_until > now()) ORDER BY s",
        run["asset_id"],
        run["concurrency_limit"],
    )
    for candidate in free:
        taken = await conn.fetchval(
            f"INSERT INTO {SCHEMA}.asset_slots (asset_id, slot, action_run_id, lease_until) "
            "VALUES ($1, $2, $3, now() + make_interval(secs => $4)) "
            "ON CONFLICT (asset_id, slot) DO UPDATE SET action_run_id = EXCLUDED.action_run_id, "
            "lease_until = EXCLUDED.lease_until WHERE asset_slots.lease_until <= now() "
            "RETURNING slot",
            run["asset_id"],
            candidate["s"],
            run["id"],
            lease,
        )
        if taken is not None:
            return int(taken)
    return None


async def claim(
    *, conn: Conn, state: BrokerState, run_id: UUID, fingerprint: str, cause: Envelope | None
) -> Record | None:
    """Take a queued run and a slot of its asset; None if it is not ours to run now."""
    async with conn.transaction():
        run = await conn.fetchrow(
            f"SELECT id, request_key, action, asset_id, asset, connector, params, fingerprint, "
            f"concurrency_limit, retry_safe, attempts FROM {SCHEMA}.action_runs "
            "WHERE id = $1 AND status = 'queued' FOR UPDATE SKIP LOCKED",
            run_id,
        )
        if run is None:
            return None  # taken by another runner, ended, or not approved
        if run["fingerprint"] != fingerprint:
            log.warning("dispatch of another fingerprint ignored", extra={"run": str(run_id)})
            return None
        if await _free_slot(conn=conn, state=state, run=run) is None:
            # the asset is at its limit: the run waits, and the next freed slot wakes it
            await conn.execute(
                f"UPDATE {SCHEMA}.action_runs SET waiting_since = now() WHERE id = $1", run_id
            )
            return None
        attempt = run["attempts"] + 1
        await conn.execute(
            f"UPDATE {SCHEMA}.action_runs SET status = 'running', attempts = $2, "
            "lease_owner = $3, lease_until = now() + make_interval(secs => $4), "
            "updated_at = now() WHERE id = $1",
            run_id,
            attempt,
            state.runner.name,
            state.settings.lease_s,
        )
        await conn.execute(
            f"INSERT INTO {SCHEMA}.attempts (action_run_id, number, runner) VALUES ($1, $2, $3)",
            run_id,
            attempt,
            state.runner.name,
        )
        await state.publish(
            conn,
            ActionStarted(
                action_run_id=run_id,
                request_key=run["request_key"],
                action=run["action"],
                asset=run["asset"],
                connector=run["connector"],
                attempt=attempt,
            ),
            subject=str(run_id),
            cause=cause,
        )
        return run


@contextlib.asynccontextmanager
async def heartbeat(state: BrokerState, run_id: UUID) -> AsyncIterator[None]:
    """Renew the run's lease and its slot's while the attempt runs."""
    pool = state.resources.pool
    lease = state.settings.lease_s

    async def beat() -> None:
        while True:
            await asyncio.sleep(state.settings.heartbeat_s)
            try:
                async with pool.acquire() as conn:
                    await conn.execute(
                        f"UPDATE {SCHEMA}.action_runs SET lease_until = now() + "
                        "make_interval(secs => $3) WHERE id = $1 AND lease_owner = $2 "
                        "AND status = 'running'",
                        run_id,
                        state.runner.name,
                        lease,
                    )
                    await conn.execute(
                        f"UPDATE {SCHEMA}.asset_slots SET lease_until = now() + "
                        "make_interval(secs => $2) WHERE action_run_id = $1",
                        run_id,
                        lease,
                    )
            except Exception as exc:
                if cancel_requested():
                    raise asyncio.CancelledError from exc
                log.exception("heartbeat failed", extra={"run": str(run_id)})

    task = asyncio.create_task(beat(), name=f"heartbeat-{run_id}")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _transient_http(exc: BaseException) -> bool:
    if isinstance(exc, httpx.TransportError):
        return True
    return isinstance(exc, httpx.HTTPStatusError) and (
        exc.response.status_code == 429 or exc.response.status_code >= 500
    )


async def execute(*, state: BrokerState, run: Record) -> Outcome:
    """Open the asset's configuration and run the action once, under the timeout."""
    connector = state.connectors.get(run["connector"])
    if connector is None:
        return Outcome("failed", f"the connector {run['connector']!r} is not installed here")
    try:
        sealed = await state.assets.sealed_config(run["asset_id"])
    except TransientError as exc:  # the registry down (UnavailableError) among them
        return Outcome("transient", str(exc))
    except PermanentError as exc:
        return Outcome("failed", str(exc))
    if sealed is None:
        return Outcome("failed", f"the asset {run['asset']!r} no longer exists")
    try:
        raw = open_config(
            sealed.sealed_bytes(), keyring=state.resources.keyring, asset_id=run["asset_id"]
        )
        instance = connector(connector.parse_config(raw))
    except (DecryptionError, ValueError) as exc:
        return Outcome("failed", f"the asset's configuration cannot be used: {exc}")
    context = ActionContext(asset=run["asset"], log=log, vault=state.vault)
    timeout = state.settings.action_timeout_s
    try:
        async with asyncio.timeout(timeout):
            result: BaseModel = await instance.run(run["action"], run["params"], context)
    except TimeoutError:
        return Outcome("timeout", f"no answer within {timeout:g} s")
    except TransientError as exc:
        wait = getattr(exc, "retry_after", None)
        return Outcome("transient", f"{type(exc).__name__}: {exc}", retry_after=wait)
    except Exception as exc:  # a connector's failure or bug: the reason is the outcome
        if _transient_http(exc):
            return Outcome("transient", f"{type(exc).__name__}: {exc}")
        return Outcome("failed", f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
    return Outcome("success", result=result.model_dump(mode="json"))


def summary_of(result: dict[str, Any]) -> dict[str, Any]:
    """The result's top-level plain values (text, numbers, booleans): what a playbook reads
    as ``outcome.summary`` (``verdict``, ``pid``, ``blocked``); lists, objects and unset
    (null) values stay in ``data`` only, so ``summary.get("verdict", "unknown")`` reads a
    verdict the connector did not give as unknown."""
    return {
        name: value for name, value in result.items() if isinstance(value, str | int | float | bool)
    }


def backoff(state: BrokerState, attempt: int) -> float:
    """Seconds before try ``attempt + 1``: doubling from ``backoff_s``, capped."""
    return float(min(state.settings.backoff_s * 2 ** (attempt - 1), state.settings.backoff_max_s))


async def finish(
    *, conn: Conn, state: BrokerState, run: Record, outcome: Outcome, cause: Envelope | None
) -> None:
    """Record the attempt's end and move the run on: an end, or a retry after backoff."""
    run_id = run["id"]
    attempt = run["attempts"] + 1
    async with conn.transaction():
        owned = await conn.fetchval(
            f"SELECT 1 FROM {SCHEMA}.action_runs WHERE id = $1 AND status = 'running' "
            "AND lease_owner = $2 FOR UPDATE",
            run_id,
            state.runner.name,
        )
        await conn.execute(
            f"UPDATE {SCHEMA}.attempts SET ended_at = now(), outcome = $3, error = $4 "
            "WHERE action_run_id = $1 AND number = $2 AND ended_at IS NULL",
            run_id,
            attempt,
            outcome.kind,
            outcome.error,
        )
        if not owned:
            log.warning("attempt ended after its lease was taken", extra={"run": str(run_id)})
            return
        retryable = outcome.kind == "transient" or (outcome.kind == "timeout" and run["retry_safe"])
        if outcome.kind == "success":
            assert outcome.result is not None
            await end_run(
                conn=conn,
                state=state,
                run_id=run_id,
                status="success",
                message="",
                summary=summary_of(outcome.result),
                data=[outcome.result],
                cause=cause,
                from_statuses=("running",),
            )
        elif retryable and attempt < state.settings.max_attempts:
            await conn.execute(
                f"UPDATE {SCHEMA}.action_runs SET status = 'scheduled', "
                "not_before = now() + make_interval(secs => $2), lease_owner = NULL, "
                "lease_until = NULL, message = $3, updated_at = now() WHERE id = $1",
                run_id,
                max(backoff(state, attempt), min(outcome.retry_after or 0.0, 3600.0)),
                f"attempt {attempt} failed, retrying: {outcome.error}",
            )
            freed = await conn.execute(
                f"DELETE FROM {SCHEMA}.asset_slots WHERE action_run_id = $1", run_id
            )
            if freed != "DELETE 0":
                await wake_waiting(conn=conn, state=state, asset_id=run["asset_id"], cause=cause)
        elif outcome.kind == "timeout" and not run["retry_safe"]:
            await end_run(
                conn=conn,
                state=state,
                run_id=run_id,
                status="unknown",
                message=(
                    f"{outcome.error} on attempt {attempt}; {run['action']!r} is not safe to "
                    "run again and may have taken effect: a person must settle it"
                ),
                cause=cause,
                from_statuses=("running",),
            )
        else:
            tries = f" after {attempt} attempts" if attempt > 1 else ""
            await end_run(
                conn=conn,
                state=state,
                run_id=run_id,
                status="failed",
                message=f"{outcome.error}{tries}",
                cause=cause,
                from_statuses=("running",),
            )


async def run_dispatched(message: ActionDispatched, envelope: Envelope, state: BrokerState) -> None:
    """Run one dispatched action run, if it is still ours to run."""
    pool = state.resources.pool
    async with pool.acquire() as conn:
        run = await claim(
            conn=conn,
            state=state,
            run_id=message.action_run_id,
            fingerprint=message.fingerprint,
            cause=envelope,
        )
    if run is None:
        return
    async with heartbeat(state, run["id"]):
        outcome = await execute(state=state, run=run)
    async with pool.acquire() as conn:
        await finish(conn=conn, state=state, run=run, outcome=outcome, cause=envelope)
