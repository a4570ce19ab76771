"""The store of action runs: creation, the moves between states, and settling a request.

A run moves ``pending_approval`` → ``scheduled``/``queued`` → ``running`` → an end
(``success``, ``failed``, ``denied``, ``expired``, ``cancelled``, ``unknown``). Every move is
one conditional UPDATE, so two replicas never move the same run twice; a request is settled
once all its runs ended, under a lock on the request row, and announced as ``action.completed``.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any
from uuid import UUID

from rampart.broker.models import (
    SETTLED,
    ActionRunDetail,
    ActionRunPublic,
    AttemptPublic,
)
from rampart.broker.state import SCHEMA, BrokerState
from rampart.core.deps import Conn
from rampart.core.envelope import Envelope
from rampart.core.errors import ConflictError, NotFoundError
from rampart.core.messages import ActionCompleted, ActionDispatched, AssetResult
from rampart.core.store import Record

UNSAFE_ACTIONS: frozenset[str] = frozenset({"send message"})
"""Catalog actions that must never run twice unknowingly, whatever the connector says."""

_COLUMNS = (
    "id, request_key, action, asset_id, asset, connector, params, fingerprint, retry_safe, "
    "status, not_before, approval, decided_by, decision_comment, attempts AS attempt_count, "
    "event_id, playbook_run_id, requested_by, summary, data, message, created_at, updated_at, "
    "finished_at"
)


def canonical_json(value: Any) -> str:
    """One spelling of a JSON value: sorted keys, no spaces."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def fingerprint(*, action: str, asset_id: UUID, connector: str, params: dict[str, Any]) -> str:
    """sha256 of exactly what will run: the action, the asset, the connector, the parameters."""
    text = canonical_json(
        {"action": action, "asset": str(asset_id), "connector": connector, "params": params}
    )
    return hashlib.sha256(text.encode()).hexdigest()


def public(row: Record) -> ActionRunPublic:
    """A stored run as the API shows it."""
    return ActionRunPublic(**dict(row))


async def runs_of_request(*, conn: Conn, request_key: str) -> list[ActionRunPublic]:
    """The runs a request resolved to, in asset order."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM {SCHEMA}.action_runs WHERE request_key = $1 ORDER BY asset",
        request_key,
    )
    return [public(r) for r in rows]


async def get_run(*, conn: Conn, run_id: UUID) -> ActionRunDetail:
    """One run with its attempts; NotFoundError if there is none."""
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM {SCHEMA}.action_runs WHERE id = $1", run_id)
    if row is None:
        raise NotFoundError(f"no action run {run_id}")
    attempts = await conn.fetch(
        f"SELECT number, runner, started_at, ended_at, outcome, error FROM {SCHEMA}.attempts "
        "WHERE action_run_id = $1 ORDER BY number",
        run_id,
    )
    return ActionRunDetail(**dict(row), attempts=[AttemptPublic(**dict(a)) for a in attempts])


async def list_runs(
    *,
    conn: Conn,
    event_id: UUID | None = None,
    playbook_run_id: UUID | None = None,
    asset: str | None = None,
    action: str | None = None,
    status: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    cursor: UUID | None = None,
    limit: int = 50,
) -> tuple[list[ActionRunPublic], UUID | None]:
    """Runs matching every filter, newest first (ids are time-ordered), and the next cursor."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM {SCHEMA}.action_runs "
        "WHERE ($1::uuid IS NULL OR event_id = $1) AND ($2::uuid IS NULL OR playbook_run_id = $2) "
        "AND ($3::text IS NULL OR asset = $3) AND ($4::text IS NULL OR action = $4) "
        "AND ($5::text IS NULL OR status = $5) "
        "AND ($6::timestamptz IS NULL OR created_at >= $6) "
        "AND ($7::timestamptz IS NULL OR created_at < $7) "
        "AND ($8::uuid IS NULL OR id < $8) ORDER BY id DESC LIMIT $9",
        event_id,
        playbook_run_id,
        asset,
        action,
        status,
        since,
        until,
        cursor,
        limit + 1,
    )
    items = [public(r) for r in rows[:limit]]
    return items, (items[-1].id if len(rows) > limit else None)


async def dispatch(
    *, conn: Conn, state: BrokerState, run: Record | dict[str, Any], cause: Envelope | None
) -> None:
    """Send a queued run to its connector's own queue (and note when)."""
    get = run.__getitem__
    await conn.execute(
        f"UPDATE {SCHEMA}.action_runs SET dispatched_at = now(), waiting_since = NULL "
        "WHERE id = $1",
        get("id"),
    )
    await state.publish(
        conn,
        ActionDispatched(
            action_run_id=get("id"),
            request_key=get("request_key"),
            action=get("action"),
            asset_id=get("asset_id"),
            asset=get("asset"),
            connector=get("connector"),
            fingerprint=get("fingerprint"),
        ),
        subject=str(get("id")),
        cause=cause,
        correlation_id=None if cause else get("request_key"),
        topic=get("connector"),
    )


async def wake_waiting(
    *, conn: Conn, state: BrokerState, asset_id: UUID, cause: Envelope | None
) -> None:
    """A slot of the asset freed: send again the run that has waited longest for one.

    Only runs a runner turned away for want of a slot wait; the others are still on
    their way through the connector's queue and need no second message.
    """
    row = await conn.fetchrow(
        f"SELECT id, request_key, action, asset_id, asset, connector, fingerprint "
        f"FROM {SCHEMA}.action_runs WHERE asset_id = $1 AND status = 'queued' "
        "AND waiting_since IS NOT NULL "
        # a run another transaction holds is being claimed or moved: never wait for it, two
        # runners finishing on the same asset would each wait for the other's run
        "ORDER BY waiting_since, id LIMIT 1 FOR UPDATE SKIP LOCKED",
        asset_id,
    )
    if row is not None:
        await dispatch(conn=conn, state=state, run=row, cause=cause)


def _overall(statuses: list[str]) -> str:
    distinct = set(statuses)
    if len(distinct) == 1:
        return statuses[0]
    return "partial" if "success" in distinct else "failed"


async def settle_request(
    *, conn: Conn, state: BrokerState, request_key: str, cause: Envelope | None
) -> bool:
    """Announce the request's outcome once every run ended; True if it was settled now.

    A run that ended ``unknown`` holds its request open: the playbook waiting for it wakes
    when a person has said whether it took effect (``resolve_unknown``), with that outcome.
    """
    request = await conn.fetchrow(
        f"SELECT request_key, action, event_id, playbook_run_id, status FROM {SCHEMA}.requests "
        "WHERE request_key = $1 FOR UPDATE",
        request_key,
    )
    if request is None or request["status"] == "completed":
        return False
    rows = await conn.fetch(
        f"SELECT id, asset, status, summary, data, message FROM {SCHEMA}.action_runs "
        "WHERE request_key = $1 ORDER BY asset",
        request_key,
    )
    if not rows or any(r["status"] not in SETTLED for r in rows):
        return False  # a run still on its way, or unknown until a person settles it
    status = _overall([r["status"] for r in rows])
    message = "; ".join(
        f"{r['asset']}: {r['message']}" for r in rows if r["status"] != "success" and r["message"]
    )
    await conn.execute(
        f"UPDATE {SCHEMA}.requests SET status = 'completed', outcome = $2, message = $3, "
        "completed_at = now() WHERE request_key = $1",
        request_key,
        status,
        message,
    )
    await state.publish(
        conn,
        ActionCompleted(
            request_key=request_key,
            action=request["action"],
            status=status,
            results=[
                AssetResult(
                    asset=r["asset"],
                    status=r["status"],
                    summary=r["summary"],
                    data=r["data"],
                    message=r["message"],
                    action_run_id=r["id"],
                )
                for r in rows
            ],
            event_id=request["event_id"],
            run_id=request["playbook_run_id"],
            message=message,
        ),
        subject=request_key,
        cause=cause,
        correlation_id=None if cause else request_key,
    )
    return True


async def end_run(
    *,
    conn: Conn,
    state: BrokerState,
    run_id: UUID,
    status: str,
    message: str,
    cause: Envelope | None,
    summary: dict[str, Any] | None = None,
    data: list[dict[str, Any]] | None = None,
    decided_by: str | None = None,
    from_statuses: tuple[str, ...],
) -> bool:
    """Move a run to an end from one of ``from_statuses``, free its slot and settle its request."""
    row = await conn.fetchrow(
        f"UPDATE {SCHEMA}.action_runs SET status = $2, message = $3, "
        "summary = COALESCE($4, summary), data = COALESCE($5, data), "
        "decided_by = COALESCE($6, decided_by), lease_owner = NULL, lease_until = NULL, "
        "updated_at = now(), finished_at = now() "
        "WHERE id = $1 AND status = ANY($7::text[]) RETURNING request_key, asset_id",
        run_id,
        status,
        message,
        summary,
        data,
        decided_by,
        list(from_statuses),
    )
    if row is None:
        return False
    freed = await conn.execute(f"DELETE FROM {SCHEMA}.asset_slots WHERE action_run_id = $1", run_id)
    if freed != "DELETE 0":
        await wake_waiting(conn=conn, state=state, asset_id=row["asset_id"], cause=cause)
    await settle_request(conn=conn, state=state, request_key=row["request_key"], cause=cause)
    return True


async def cancel(*, conn: Conn, state: BrokerState, run_id: UUID, who: str) -> ActionRunDetail:
    """Cancel a run that has not started; ConflictError for one running or ended."""
    async with conn.transaction():
        current = await conn.fetchval(
            f"SELECT status FROM {SCHEMA}.action_runs WHERE id = $1 FOR UPDATE", run_id
        )
        if current is None:
            raise NotFoundError(f"no action run {run_id}")
        if current not in ("pending_approval", "scheduled", "queued"):
            raise ConflictError(
                f"action run {run_id} is {current}; only a run not started yet can be cancelled"
            )
        await end_run(
            conn=conn,
            state=state,
            run_id=run_id,
            status="cancelled",
            message=f"cancelled by {who}",
            cause=None,
            decided_by=who,
            from_statuses=("pending_approval", "scheduled", "queued"),
        )
    return await get_run(conn=conn, run_id=run_id)


async def resolve_unknown(
    *, conn: Conn, state: BrokerState, run_id: UUID, status: str, comment: str, who: str
) -> ActionRunDetail:
    """A person settles a run that ended ``unknown``: it took effect or it did not.

    The run ends with that status, and its request is settled: ``action.completed`` wakes
    the playbook that waits for it with the person's outcome.
    """
    async with conn.transaction():
        current = await conn.fetchrow(
            f"SELECT status, message FROM {SCHEMA}.action_runs WHERE id = $1 FOR UPDATE", run_id
        )
        if current is None:
            raise NotFoundError(f"no action run {run_id}")
        if current["status"] != "unknown":
            raise ConflictError(
                f"action run {run_id} is {current['status']}; only an unknown run can be resolved"
            )
        note = f"resolved as {status} by {who}" + (f": {comment}" if comment else "")
        await end_run(
            conn=conn,
            state=state,
            run_id=run_id,
            status=status,
            message=f"{current['message']} — {note}" if current["message"] else note,
            cause=None,
            decided_by=who,
            from_statuses=("unknown",),
        )
    return await get_run(conn=conn, run_id=run_id)
