"""The broker's store of action requests."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel

from rampart.core.consumers import Queue
from rampart.core.deps import Conn
from rampart.core.messages import ActionRequested, ApprovalDecided
from rampart.core.store import affected_rows

SCHEMA = "broker"
requests = Queue("broker.requests")


class ActionRequestPublic(BaseModel):
    """An action request as the API lists it."""

    request_key: str
    action: str
    target: dict[str, Any]
    params: dict[str, Any]
    event_id: UUID | None
    run_id: UUID | None
    requested_by: str
    status: str
    received_at: datetime


@requests.on(ActionRequested)
async def on_action_requested(conn: Conn, message: ActionRequested) -> None:
    """Store each action request once."""
    await record_request(conn=conn, request=message)


@requests.on(ApprovalDecided)
async def on_approval_decided(conn: Conn, message: ApprovalDecided) -> None:
    """Move the request the decision is about to its outcome."""
    await record_decision(conn=conn, decision=message)


async def record_request(*, conn: Conn, request: ActionRequested) -> bool:
    """Store a request once; False if its key was seen before."""
    status = await conn.execute(
        f"INSERT INTO {SCHEMA}.action_requests (request_key, action, target, params, event_id, "
        "run_id, requested_by) VALUES ($1, $2, $3, $4, $5, $6, $7) "
        "ON CONFLICT (request_key) DO NOTHING",
        request.request_key,
        request.action,
        request.target.model_dump(exclude_none=True),
        request.params,
        request.event_id,
        request.run_id,
        request.requested_by,
    )
    return affected_rows(status) == 1


async def record_decision(*, conn: Conn, decision: ApprovalDecided) -> None:
    """Move a request waiting for approval to the decision's outcome."""
    await conn.execute(
        f"UPDATE {SCHEMA}.action_requests SET status = $2, updated_at = now() "
        "WHERE request_key = $1",
        decision.request_key,
        decision.decision,
    )


async def list_requests(*, conn: Conn, limit: int) -> list[ActionRequestPublic]:
    """Action requests, newest first."""
    rows = await conn.fetch(
        f"SELECT request_key, action, target, params, event_id, run_id, requested_by, status, "
        f"received_at FROM {SCHEMA}.action_requests ORDER BY received_at DESC LIMIT $1",
        limit,
    )
    return [ActionRequestPublic(**dict(r)) for r in rows]
