"""HTTP routes of the approvals service: approvals and their decisions, SLA timers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response

from rampart.approvals import policies, reports, service, timers
from rampart.approvals.calendars import CalendarSpec
from rampart.approvals.models import (
    ApprovalDetail,
    ApprovalPublic,
    ApprovalStatus,
    DecisionCreate,
    DelegationCreate,
    SlaReport,
)
from rampart.approvals.policies import CalendarPublic, PolicyPublic, PolicySpec, SubjectKind
from rampart.approvals.state import Approvals
from rampart.approvals.timers import SlaTimer, TimerStatus
from rampart.core.auth import Admin, Analyst, Decider, Reader
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


@router.post("/approvals/{approval_id}/delegate", summary="Delegate to another owner")
async def post_delegate(
    approval_id: UUID, body: DelegationCreate, conn: Conn, who: Decider, state: Approvals
) -> ApprovalDetail:
    """A current assignee hands their part of the stage to another owner; recorded."""
    return await service.delegate(
        conn=conn, approval_id=approval_id, who=who, delegation=body, owners=state.owners
    )


@router.get("/slas", summary="List SLA timers, soonest due first", tags=["sla"])
async def get_slas(
    conn: Conn,
    _who: Reader,
    subject_id: UUID | None = None,
    subject_kind: SubjectKind | None = None,
    event_id: UUID | None = None,
    status: TimerStatus | None = None,
    warned: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[SlaTimer]:
    """Running, paused, warned and breached SLA timers of events, approvals, phases and tasks."""
    return await timers.list_timers(
        conn=conn,
        subject_id=subject_id,
        subject_kind=subject_kind,
        event_id=event_id,
        status=status,
        warned=warned,
        limit=limit,
    )


@router.post("/slas/{timer_id}/pause", summary="Pause an SLA clock", tags=["sla"])
async def post_pause(timer_id: UUID, conn: Conn, _who: Analyst, state: Approvals) -> SlaTimer:
    """Stop the clock (an event on hold); the time left waits for resume."""
    return await timers.pause(conn=conn, timer_id=timer_id, now=state.clock.now())


@router.post("/slas/{timer_id}/resume", summary="Resume a paused SLA clock", tags=["sla"])
async def post_resume(timer_id: UUID, conn: Conn, _who: Analyst, state: Approvals) -> SlaTimer:
    """Run the clock again with the time it had left."""
    return await timers.resume(conn=conn, timer_id=timer_id, now=state.clock.now())


@router.get("/sla-policies", summary="List SLA policies (admin)", tags=["sla"])
async def get_policies(conn: Conn, _who: Admin) -> list[PolicyPublic]:
    """Every SLA policy."""
    return await policies.list_policies(conn=conn)


@router.post("/sla-policies", status_code=201, summary="Add an SLA policy (admin)", tags=["sla"])
async def post_policy(body: PolicySpec, conn: Conn, _who: Admin) -> PolicyPublic:
    """A policy for one subject kind (and severity): length, calendar, warning share."""
    return await policies.create_policy(conn=conn, spec=body)


@router.delete(
    "/sla-policies/{policy_id}", status_code=204, summary="Remove an SLA policy (admin)",
    tags=["sla"],
)  # fmt: skip
async def delete_policy(policy_id: UUID, conn: Conn, _who: Admin) -> Response:
    """Remove a policy; running timers keep their due times."""
    await policies.delete_policy(conn=conn, policy_id=policy_id)
    return Response(status_code=204)


@router.get("/reports/sla", summary="SLA report of a time range", tags=["sla"])
async def get_sla_report(
    conn: Conn,
    _who: Analyst,
    state: Approvals,
    since: datetime,
    until: datetime | None = None,
) -> SlaReport:
    """Time to acknowledge and resolve, SLA compliance and breaches by severity and owner, and
    approvals' time to decide, for events and approvals created in ``[since, until)``."""
    return await reports.sla_report(conn=conn, since=since, until=until or state.clock.now())


@router.get("/calendars", summary="List business-hours calendars (admin)", tags=["sla"])
async def get_calendars(conn: Conn, _who: Admin) -> list[CalendarPublic]:
    """Every calendar."""
    return await policies.list_calendars(conn=conn)


@router.post("/calendars", status_code=201, summary="Add a calendar (admin)", tags=["sla"])
async def post_calendar(body: CalendarSpec, conn: Conn, _who: Admin) -> CalendarPublic:
    """Working hours per weekday in a time zone, and holidays."""
    return await policies.create_calendar(conn=conn, spec=body)
