"""HTTP routes of the approvals service: approvals and their decisions, SLA timers."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from rampart.approvals import service
from rampart.approvals.models import ApprovalDetail, ApprovalPublic, ApprovalStatus, DecisionCreate
from rampart.approvals.state import Approvals
from rampart.approvals.timers import SlaTimer, list_timers
from rampart.core.auth import Decider, Reader
from rampart.core.deps import Conn
from rampart.core.errors import FieldError, NotFoundError
from rampart.core.messages.approvals import ApprovalStage

router = APIRouter(tags=["approvals"])


@router.get("/approvals", summary="List approvals, newest first")
async def get_approvals(
    conn: Conn,
    who: Decider,
    mine: bool = False,
    status: ApprovalStatus | None = None,
    asset: Annotated[str | None, Query(max_length=200)] = None,
    event_id: UUID | None = None,
    stage: ApprovalStage | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[ApprovalPublic]:
    """Approvals; ``mine=true`` keeps those waiting for the caller at their current stage."""
    assignee: UUID | None = None
    if mine:
        assignee = service.owner_of(who)
        if assignee is None:
            raise FieldError("mine", "this token is not bound to an owner")
    return await service.list_approvals(
        conn=conn,
        assignee=assignee,
        status=status,
        asset=asset,
        event_id=event_id,
        stage=stage,
        limit=limit,
    )


@router.get("/approvals/{approval_id}", summary="Get one approval with its history")
async def get_approval(approval_id: UUID, conn: Conn, _who: Decider) -> ApprovalDetail:
    """An approval, every decision on it and everything that happened to it."""
    found = await service.get(conn=conn, approval_id=approval_id)
    if found is None:
        raise NotFoundError(f"no approval {approval_id}")
    return found


@router.post("/approvals/{approval_id}/decision", summary="Approve or deny (current assignees)")
async def post_decision(
    approval_id: UUID, body: DecisionCreate, conn: Conn, who: Decider, state: Approvals
) -> ApprovalDetail:
    """An assignee of the current stage approves or denies; 403 for anyone else, 409 if done."""
    return await service.decide(
        conn=conn, approval_id=approval_id, who=who, decision=body, now=state.clock.now()
    )


@router.get("/sla-timers", summary="List SLA timers, soonest due first", tags=["sla"])
async def get_sla_timers(
    conn: Conn,
    _who: Reader,
    subject_id: UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[SlaTimer]:
    """SLA timers, optionally of one event, approval, phase or task."""
    return await list_timers(conn=conn, subject_id=subject_id, limit=limit)
