"""The broker's clock and its safety net, run by every replica on the same rows.

Each round (rows claimed with ``FOR UPDATE SKIP LOCKED``, so replicas share the work):
scheduled runs whose ``not_before`` passed go to their connector's queue; a running run whose
lease passed lost its runner: a retry-safe one is queued again, any other ends ``unknown`` with
the evidence; a queued run no runner took for a while, or one waiting for a slot of an asset
that has one free, is sent again.
"""

from __future__ import annotations

import contextlib
import logging

from rampart.broker.runs import dispatch, end_run
from rampart.broker.state import SCHEMA, BrokerState
from rampart.core.deps import Conn
from rampart.core.workers import periodic

log = logging.getLogger(__name__)

_BATCH = 100


async def release_due(*, conn: Conn, state: BrokerState) -> int:
    """Queue and dispatch the scheduled runs that are due; returns how many."""
    async with conn.transaction():
        rows = await conn.fetch(
            f"UPDATE {SCHEMA}.action_runs SET status = 'queued', updated_at = now() "
            f"WHERE id IN (SELECT id FROM {SCHEMA}.action_runs WHERE status = 'scheduled' "
            "AND (not_before IS NULL OR not_before <= now()) ORDER BY not_before "
            f"LIMIT {_BATCH} FOR UPDATE SKIP LOCKED) "
            "RETURNING id, request_key, action, asset_id, asset, connector, fingerprint",
        )
        for row in rows:
            await dispatch(conn=conn, state=state, run=row, cause=None)
    return len(rows)


async def recover_lost(*, conn: Conn, state: BrokerState) -> int:
    """Settle running runs whose runner stopped renewing the lease; returns how many."""
    async with conn.transaction():
        rows = await conn.fetch(
            f"SELECT id, request_key, action, asset_id, asset, connector, fingerprint, "
            f"retry_safe, attempts, lease_owner, lease_until FROM {SCHEMA}.action_runs "
            "WHERE status = 'running' AND lease_until < now() ORDER BY lease_until "
            f"LIMIT {_BATCH} FOR UPDATE SKIP LOCKED",
        )
        for row in rows:
            evidence = (
                f"runner {row['lease_owner']} stopped renewing its lease (until "
                f"{row['lease_until'].isoformat()}) during attempt {row['attempts']}"
            )
            await conn.execute(
                f"UPDATE {SCHEMA}.attempts SET ended_at = now(), outcome = 'lost', error = $3 "
                "WHERE action_run_id = $1 AND number = $2 AND ended_at IS NULL",
                row["id"],
                row["attempts"],
                evidence,
            )
            await conn.execute(
                f"DELETE FROM {SCHEMA}.asset_slots WHERE action_run_id = $1", row["id"]
            )
            log.warning("action run lost its runner", extra={"run": str(row["id"])})
            if row["retry_safe"] and row["attempts"] < state.settings.max_attempts:
                await conn.execute(
                    f"UPDATE {SCHEMA}.action_runs SET status = 'queued', lease_owner = NULL, "
                    "lease_until = NULL, message = $2, updated_at = now() WHERE id = $1",
                    row["id"],
                    f"{evidence}; taken over",
                )
                await dispatch(conn=conn, state=state, run=row, cause=None)
            elif row["retry_safe"]:
                await end_run(
                    conn=conn,
                    state=state,
                    run_id=row["id"],
                    status="failed",
                    message=f"{evidence}; no attempts left",
                    cause=None,
                    from_statuses=("running",),
                )
            else:
                await end_run(
                    conn=conn,
                    state=state,
                    run_id=row["id"],
                    status="unknown",
                    message=(
                        f"{evidence}; {row['action']!r} is not safe to run again and may have "
                        "taken effect: a person must settle it"
                    ),
                    cause=None,
                    from_statuses=("running",),
                )
    return len(rows)


async def redispatch_stale(*, conn: Conn, state: BrokerState) -> int:
    """Send again the queued runs no runner took within ``redispatch_after_s``, and those
    waiting for a slot of an asset that has one free (a wake-up lost to a race)."""
    async with conn.transaction():
        rows = await conn.fetch(
            f"SELECT id, request_key, action, asset_id, asset, connector, fingerprint "
            f"FROM {SCHEMA}.action_runs r WHERE status = 'queued' AND ("
            "dispatched_at IS NULL OR dispatched_at < now() - make_interval(secs => $1) "
            "OR (waiting_since < now() - interval '1 second' AND ("
            f"SELECT count(*) FROM {SCHEMA}.asset_slots s WHERE s.asset_id = r.asset_id "
            "AND s.lease_until > now()) < r.concurrency_limit)) "
            f"ORDER BY dispatched_at NULLS FIRST LIMIT {_BATCH} FOR UPDATE SKIP LOCKED",
            state.settings.redispatch_after_s,
        )
        for row in rows:
            await dispatch(conn=conn, state=state, run=row, cause=None)
    return len(rows)


def reconciler(state: BrokerState) -> contextlib.AbstractAsyncContextManager[None]:
    """Release due runs, recover lost ones and resend stale ones while the service runs."""

    async def round_() -> None:
        async with state.resources.pool.acquire() as conn:
            while await release_due(conn=conn, state=state) >= _BATCH:
                pass
            while await recover_lost(conn=conn, state=state) >= _BATCH:
                pass
            await redispatch_stale(conn=conn, state=state)

    return periodic(
        round_, interval_s=state.settings.reconcile_interval_s, name="broker-reconciler"
    )
