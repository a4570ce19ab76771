"""HTTP routes of action runs: analysts run actions by hand, read runs and cancel them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from urllib.parse import quote
from uuid import UUID, uuid4

from fastapi import APIRouter, Depends, Path, Query, Response
from fastapi.responses import HTMLResponse, StreamingResponse

from rampart.broker import requests, runs
from rampart.broker.models import (
    ActionRequestAccepted,
    ActionRunCreate,
    ActionRunDetail,
    ActionRunPage,
    ActionRunResolve,
    RunStatus,
)
from rampart.broker.state import BrokerState
from rampart.core.auth import Analyst, Reader
from rampart.core.deps import Conn, DbPool, service_state
from rampart.core.errors import ConflictError, FieldError, NotFoundError
from rampart.core.messages import ActionRequested, ActionTarget
from rampart.core.widgets import WidgetError, render_widget
from rampart.sdk.catalog import CATALOG

router = APIRouter(tags=["actions"])

Broker = Annotated[BrokerState, Depends(service_state(BrokerState))]


@router.post("/action-runs", status_code=202, summary="Run an action by hand", response_model=None)
async def post_action_run(
    body: ActionRunCreate, pool: DbPool, who: Analyst, broker: Broker, response: Response
) -> ActionRequestAccepted:
    """Resolve the target, validate the parameters and gate or route each run, as for a
    playbook's request; a resend with the same ``request_key`` answers with the same runs."""
    request = ActionRequested(
        request_key=body.request_key or f"api:{uuid4()}",
        action=body.action,
        target=body.target,
        params=body.params,
        event_id=body.event_id,
        requested_by=who.subject or who.name,
        not_before=body.not_before,
    )
    return await _submit(pool=pool, broker=broker, request=request, response=response)


async def _submit(
    *,
    pool: DbPool,
    broker: BrokerState,
    request: ActionRequested,
    response: Response,
    asset_id: UUID | None = None,
) -> ActionRequestAccepted:
    async with pool.acquire() as conn:
        known = await runs.runs_of_request(conn=conn, request_key=request.request_key)
    if known:
        response.status_code = 200
        return ActionRequestAccepted(request_key=request.request_key, created=False, runs=known)
    # resolved over HTTP holding no connection: the registry may need one from the same pool
    resolved = await requests.resolve(state=broker, request=request)
    if asset_id is not None:
        resolved = [r for r in resolved if r.asset.id == asset_id]
        if not resolved:
            raise NotFoundError(f"the asset {request.target.asset!r} is no longer the run's asset")
    async with pool.acquire() as conn:
        created, made = await requests.create_runs(
            conn=conn, state=broker, request=request, resolved=resolved, cause=None
        )
    if not created:
        response.status_code = 200
    response.headers["Location"] = f"/api/v1/action-runs?request_key={request.request_key}"
    return ActionRequestAccepted(request_key=request.request_key, created=created, runs=made)


@router.get("/action-runs", summary="List action runs")
async def get_action_runs(
    conn: Conn,
    _who: Reader,
    event_id: UUID | None = None,
    playbook_run_id: UUID | None = None,
    asset: str | None = None,
    action: str | None = None,
    status: RunStatus | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    cursor: UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> ActionRunPage:
    """Runs matching every filter, newest first; ``next_cursor`` pages on."""
    items, next_cursor = await runs.list_runs(
        conn=conn,
        event_id=event_id,
        playbook_run_id=playbook_run_id,
        asset=asset,
        action=action,
        status=status,
        since=since,
        until=until,
        cursor=cursor,
        limit=limit,
    )
    return ActionRunPage(items=items, next_cursor=next_cursor)


@router.get("/action-runs/{run_id}", summary="Get one action run with its attempts")
async def get_action_run(run_id: UUID, conn: Conn, _who: Reader) -> ActionRunDetail:
    """The run, its approval, every attempt and its result."""
    return await runs.get_run(conn=conn, run_id=run_id)


@router.get(
    "/action-runs/{run_id}/widget",
    summary="The run's result rendered by its connector's widget",
    response_class=HTMLResponse,
)
async def get_widget(run_id: UUID, conn: Conn, _who: Reader, broker: Broker) -> HTMLResponse:
    """HTML of each result through the connector's sandboxed, escaping template: values from
    the product are text, never markup; the page may load nothing and run no script."""
    run = await runs.get_run(conn=conn, run_id=run_id)
    connector = broker.connectors.get(run.connector)
    binding = connector.bindings().get(run.action) if connector is not None else None
    if binding is None or binding.widget is None:
        raise NotFoundError(f"the connector {run.connector!r} has no widget for {run.action!r}")
    if run.status != "success":
        raise ConflictError(f"action run {run_id} is {run.status}; only a result has a widget")
    try:
        parts = [render_widget(binding.widget, item) for item in run.data]
    except WidgetError as exc:
        raise ConflictError(f"the widget of {run.connector!r} failed: {exc}") from None
    body = "\n".join(f'<div class="rampart-widget">{part}</div>' for part in parts)
    return HTMLResponse(
        body,
        headers={
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.get(
    "/vault/{sha256}",
    summary="Download a file an action put in the vault (a process dump, a copied file)",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
async def get_vault_file(
    sha256: Annotated[str, Path(pattern=r"^[0-9a-f]{64}$", description="the file's SHA-256")],
    _who: Analyst,
    broker: Broker,
) -> StreamingResponse:
    """The file as an attachment, never shown inline: its bytes came from the product."""
    ref = await broker.vault.stat(sha256)
    if ref is None:
        raise NotFoundError(f"no file with SHA-256 {sha256} in the vault")
    name = ref.name or sha256
    return StreamingResponse(
        broker.vault.read(sha256),
        media_type="application/octet-stream",
        headers={
            "Content-Length": str(ref.size),
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name, safe='')}",
            "X-Content-Type-Options": "nosniff",
            "X-Rampart-Content-Type": ref.content_type,
        },
    )


@router.post("/action-runs/{run_id}/cancel", summary="Cancel a run not started yet")
async def post_cancel(run_id: UUID, conn: Conn, who: Analyst, broker: Broker) -> ActionRunDetail:
    """End a run that waits for approval, its time or a runner as ``cancelled``."""
    return await runs.cancel(conn=conn, state=broker, run_id=run_id, who=who.subject or who.name)


@router.post(
    "/action-runs/{run_id}/undo",
    status_code=202,
    summary="Undo a run: the catalog's undo action on the same asset",
    response_model=None,
)
async def post_undo(
    run_id: UUID, pool: DbPool, who: Analyst, broker: Broker, response: Response
) -> ActionRequestAccepted:
    """Run the undo action of the catalog (``unblock ip`` for ``block ip``) on the same asset
    with the same parameters, through the same gate; a second undo answers with the first."""
    async with pool.acquire() as conn:
        run = await runs.get_run(conn=conn, run_id=run_id)
    undo = CATALOG[run.action].undo
    if undo is None:
        raise FieldError("action", f"{run.action!r} has no undo action in the catalog")
    if run.status != "success":
        raise FieldError("status", f"only a successful run can be undone; this one is {run.status}")
    request = ActionRequested(
        request_key=f"undo:{run.id}",
        action=undo,
        target=ActionTarget(asset=run.asset),
        params=run.params,
        event_id=run.event_id,
        requested_by=who.subject or who.name,
    )
    return await _submit(
        pool=pool, broker=broker, request=request, response=response, asset_id=run.asset_id
    )


@router.post("/action-runs/{run_id}/resolve", summary="Settle a run that ended unknown")
async def post_resolve(
    run_id: UUID, body: ActionRunResolve, conn: Conn, who: Analyst, broker: Broker
) -> ActionRunDetail:
    """Record whether an ``unknown`` run took effect, and settle its request with that
    outcome (the waiting playbook wakes); 409 for a run in any other state."""
    return await runs.resolve_unknown(
        conn=conn,
        state=broker,
        run_id=run_id,
        status=body.status,
        comment=body.comment,
        who=who.subject or who.name,
    )


@router.post(
    "/assets/{asset_id}/test",
    status_code=202,
    summary="Test an asset's connectivity through a runner",
    response_model=None,
)
async def post_asset_test(
    asset_id: UUID, pool: DbPool, who: Analyst, broker: Broker, response: Response
) -> ActionRequestAccepted:
    """Run ``test connectivity`` on the asset through a runner, with its sealed configuration
    opened there; the run's result (``GET /api/v1/action-runs/{id}``) tells what answered."""
    asset = await broker.assets.get(asset_id)
    if asset is None:
        raise NotFoundError(f"no asset {asset_id}")
    request = ActionRequested(
        request_key=f"test-connectivity:{asset_id}:{uuid4()}",
        action="test connectivity",
        target=ActionTarget(asset=asset.name),
        requested_by=who.subject or who.name,
    )
    return await _submit(
        pool=pool, broker=broker, request=request, response=response, asset_id=asset_id
    )
