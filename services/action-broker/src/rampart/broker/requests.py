"""From an action request to its runs: resolve the target, validate, gate and route.

A request names an action and a target (an asset, a tag or a product). The broker resolves the
target through the asset registry, keeps the assets whose connector implements the action,
validates the parameters against the catalog and creates one run per asset, keyed by the
request key. A gated run waits for its owners' approval of its fingerprint; a ready one goes
to its connector's queue, or waits for ``not_before``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rampart.broker.assets import Asset
from rampart.broker.models import ActionRunPublic
from rampart.broker.runs import (
    UNSAFE_ACTIONS,
    dispatch,
    end_run,
    fingerprint,
    runs_of_request,
)
from rampart.broker.state import SCHEMA, BrokerState
from rampart.core.consumers import Queue
from rampart.core.deps import Conn
from rampart.core.envelope import Envelope
from rampart.core.errors import DomainError, FieldError, NotFoundError, UnavailableError
from rampart.core.ids import uuid7
from rampart.core.inbox import first_delivery
from rampart.core.messages import (
    ActionCompleted,
    ActionRequested,
    ActionTarget,
    ApprovalDecided,
    ApprovalRequested,
    ApprovalStagePlan,
)
from rampart.core.store import Pool
from rampart.sdk.catalog import CATALOG, InvalidParameters, validate_params
from rampart.sdk.connector import Connector

log = logging.getLogger(__name__)

requests = Queue("broker.requests")


@dataclass(frozen=True, slots=True)
class Resolved:
    """One asset a request will run on, with what exactly will run."""

    asset: Asset
    params: dict[str, Any]
    fingerprint: str
    gated: bool
    retry_safe: bool


def _describe(target: ActionTarget) -> str:
    if target.asset is not None:
        return f"no asset named {target.asset!r}"
    if target.tag is not None:
        return f"no asset has the tag {target.tag!r}"
    return f"no asset is of the product {target.product!r}"


def retry_safe(connector: type[Connector[Any]], action: str) -> bool:
    """Whether the action may run again after a runner died mid-way."""
    declared: frozenset[str] = getattr(connector, "unsafe_actions", frozenset())
    return action not in UNSAFE_ACTIONS and action not in declared


async def resolve(*, state: BrokerState, request: ActionRequested) -> list[Resolved]:
    """The assets and exact parameters a request runs with; DomainError naming what is wrong."""
    if request.action not in CATALOG:
        raise FieldError("action", f"{request.action!r} is not an action of the catalog")
    try:
        params = validate_params(request.action, request.params).model_dump(mode="json")
    except InvalidParameters as exc:
        first = exc.errors[0] if exc.errors else {"field": "params", "message": "invalid"}
        raise FieldError(first["field"], first["message"]) from None
    found = await state.assets.find(request.target)
    if not found:
        raise NotFoundError(_describe(request.target))
    resolved: list[Resolved] = []
    for asset in found:
        connector = state.connectors.get(asset.connector)
        if connector is None or not connector.implements(request.action):
            continue
        resolved.append(
            Resolved(
                asset=asset,
                params=params,
                fingerprint=fingerprint(
                    action=request.action,
                    asset_id=asset.id,
                    connector=asset.connector,
                    params=params,
                ),
                gated=asset.approval_policy.needs_approval(request.action),
                retry_safe=retry_safe(connector, request.action),
            )
        )
    if not resolved:
        names = ", ".join(f"{a.name} ({a.connector})" for a in found)
        raise FieldError(
            "action", f"no connector of the assets found implements {request.action!r}: {names}"
        )
    return resolved


def _stages(asset: Asset) -> list[ApprovalStagePlan]:
    sla = asset.approval_policy.sla_minutes
    stages = (
        ("primary", asset.primary_owners, sla.primary),
        ("secondary", asset.secondary_owners, sla.secondary),
        ("executive", asset.executive_approvers, sla.executive),
    )
    return [
        ApprovalStagePlan(stage=name, assignees=[str(o) for o in owners], sla_minutes=minutes)
        for name, owners, minutes in stages
        if owners
    ]


async def _store_request(
    *, conn: Conn, request: ActionRequested, status: str = "open", message: str = ""
) -> bool:
    inserted = await conn.fetchval(
        f"INSERT INTO {SCHEMA}.requests (request_key, action, target, params, event_id, "
        "playbook_run_id, requested_by, not_before, status, outcome, message, completed_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, "
        "CASE WHEN $9 = 'completed' THEN now() END) "
        "ON CONFLICT (request_key) DO NOTHING RETURNING true",
        request.request_key,
        request.action,
        request.target.model_dump(exclude_none=True),
        request.params,
        request.event_id,
        request.run_id,
        request.requested_by,
        request.not_before,
        status,
        "failed" if status == "completed" else None,
        message,
    )
    return bool(inserted)


async def create_runs(
    *,
    conn: Conn,
    state: BrokerState,
    request: ActionRequested,
    resolved: list[Resolved],
    cause: Envelope | None,
) -> tuple[bool, list[ActionRunPublic]]:
    """Store the request and one run per asset, gate or route each; a known key changes nothing."""
    async with conn.transaction():
        if not await _store_request(conn=conn, request=request):
            return False, await runs_of_request(conn=conn, request_key=request.request_key)
        later = request.not_before is not None and request.not_before > datetime.now(UTC)
        for item in resolved:
            run_id = uuid7()
            stages = _stages(item.asset) if item.gated else []
            status = "pending_approval" if item.gated else ("scheduled" if later else "queued")
            approval = (
                {
                    "required_approvals": item.asset.approval_policy.approvals_required,
                    "stages": [s.model_dump(mode="json") for s in stages],
                }
                if item.gated
                else None
            )
            row = await conn.fetchrow(
                f"INSERT INTO {SCHEMA}.action_runs (id, request_key, action, asset_id, asset, "
                "connector, params, fingerprint, retry_safe, concurrency_limit, event_id, "
                "playbook_run_id, requested_by, status, not_before, approval) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) "
                "RETURNING id, request_key, action, asset_id, asset, connector, fingerprint",
                run_id,
                request.request_key,
                request.action,
                item.asset.id,
                item.asset.name,
                item.asset.connector,
                item.params,
                item.fingerprint,
                item.retry_safe,
                item.asset.concurrency_limit,
                request.event_id,
                request.run_id,
                request.requested_by,
                status,
                request.not_before,
                approval,
            )
            assert row is not None
            if item.gated:
                await state.publish(
                    conn,
                    ApprovalRequested(
                        action_run_id=run_id,
                        request_key=request.request_key,
                        action=request.action,
                        asset=item.asset.name,
                        connector=item.asset.connector,
                        params=item.params,
                        requested_by=request.requested_by,
                        event_id=request.event_id,
                        required_approvals=item.asset.approval_policy.approvals_required,
                        stages=stages,
                        fingerprint=item.fingerprint,
                    ),
                    subject=str(run_id),
                    cause=cause,
                    correlation_id=None if cause else request.request_key,
                )
            elif status == "queued":
                await dispatch(conn=conn, state=state, run=row, cause=cause)
        return True, await runs_of_request(conn=conn, request_key=request.request_key)


async def accept(
    *, pool: Pool, state: BrokerState, request: ActionRequested, envelope: Envelope
) -> None:
    """A request from the bus: create its runs, or complete it at once as failed with why.

    The target is resolved over HTTP before any connection is taken, so requests waiting on
    the registry never hold the pool the registry itself may need. A registry that cannot
    answer refuses nothing: the delivery fails as transient and the bus delivers it again.
    """
    async with pool.acquire() as conn:
        if await conn.fetchval(
            f"SELECT 1 FROM {SCHEMA}.requests WHERE request_key = $1", request.request_key
        ):
            return
    refused: DomainError | None = None
    resolved: list[Resolved] = []
    try:
        resolved = await resolve(state=state, request=request)
    except UnavailableError:
        raise  # the registry is down, the request may be fine: delivered again later
    except DomainError as exc:
        refused = exc
    async with pool.acquire() as conn, conn.transaction():
        if not await first_delivery(
            conn=conn, schema=SCHEMA, consumer=requests.name, message_id=envelope.id
        ):
            return
        if refused is None:
            await create_runs(
                conn=conn, state=state, request=request, resolved=resolved, cause=envelope
            )
            return
        log.info(
            "action request refused",
            extra={"request_key": request.request_key, "reason": refused.detail},
        )
        if await _store_request(
            conn=conn, request=request, status="completed", message=refused.detail
        ):
            await state.publish(
                conn,
                ActionCompleted(
                    request_key=request.request_key,
                    action=request.action,
                    status="failed",
                    event_id=request.event_id,
                    run_id=request.run_id,
                    message=refused.detail,
                ),
                subject=request.request_key,
                cause=envelope,
            )


@requests.on(ActionRequested, transaction=False)
async def on_action_requested(
    pool: Pool, message: ActionRequested, envelope: Envelope, state: BrokerState
) -> None:
    """Resolve the request, create its runs and gate or route each."""
    await accept(pool=pool, state=state, request=message, envelope=envelope)


async def decide(
    *, conn: Conn, state: BrokerState, decision: ApprovalDecided, cause: Envelope | None
) -> None:
    """Let an approved run go on, or end it denied/expired/cancelled with who and why."""
    row = await conn.fetchrow(
        f"SELECT id, request_key, action, asset_id, asset, connector, fingerprint, status, "
        f"not_before FROM {SCHEMA}.action_runs WHERE id = $1 FOR UPDATE",
        decision.action_run_id,
    )
    if row is None or row["status"] != "pending_approval":
        log.info("approval decision for no waiting run", extra={"run": str(decision.action_run_id)})
        return
    if decision.fingerprint is not None and decision.fingerprint != row["fingerprint"]:
        # an approval of something else: nothing runs on its strength
        log.warning(
            "approval decision for another fingerprint ignored",
            extra={"run": str(row["id"])},
        )
        return
    who = decision.decided_by or "approvals"
    if decision.decision == "approved":
        later = row["not_before"] is not None and row["not_before"] > datetime.now(UTC)
        await conn.execute(
            f"UPDATE {SCHEMA}.action_runs SET status = $2, decided_by = $3, "
            "decision_comment = $4, updated_at = now() WHERE id = $1",
            row["id"],
            "scheduled" if later else "queued",
            who,
            decision.comment,
        )
        if not later:
            await dispatch(conn=conn, state=state, run=row, cause=cause)
        return
    if decision.decision == "expired":
        reason = "the approval expired: no owner decided before the last stage's SLA passed"
    else:
        reason = f"{decision.decision} by {who}"
    reason += f": {decision.comment}" if decision.comment else ""
    await conn.execute(
        f"UPDATE {SCHEMA}.action_runs SET decision_comment = $2 WHERE id = $1",
        row["id"],
        decision.comment,
    )
    await end_run(
        conn=conn,
        state=state,
        run_id=row["id"],
        status=decision.decision,
        message=reason,
        cause=cause,
        decided_by=who,
        from_statuses=("pending_approval",),
    )


@requests.on(ApprovalDecided)
async def on_approval_decided(
    conn: Conn, message: ApprovalDecided, envelope: Envelope, state: BrokerState
) -> None:
    """An approval ended: the run proceeds, or ends with the decision."""
    await decide(conn=conn, state=state, decision=message, cause=envelope)
