"""Approvals as the API shows them and as requests change them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from rampart.core.messages.approvals import ApprovalStage

ApprovalStatus = Literal["pending", "approved", "denied", "expired", "cancelled"]


class StagePublic(BaseModel):
    """One stage of an approval: who decides, and how long they have."""

    stage: ApprovalStage
    sla_minutes: float
    assignees: list[UUID]


class DecisionPublic(BaseModel):
    """One assignee's decision."""

    stage: ApprovalStage
    owner_id: UUID
    decision: Literal["approve", "deny"]
    comment: str
    channel: str
    decided_at: datetime


class HistoryEntry(BaseModel):
    """One thing that happened to an approval."""

    at: datetime
    kind: str
    actor: str | None
    channel: str | None
    detail: dict[str, Any]


class ApprovalPublic(BaseModel):
    """An approval: what will run, on which asset, who decides now and by when."""

    id: UUID
    action_run_id: UUID
    request_key: str
    action: str
    asset: str
    connector: str | None
    params: dict[str, Any]
    fingerprint: str | None
    requested_by: str
    event_id: UUID | None
    required_approvals: int
    stage: ApprovalStage
    status: ApprovalStatus
    due_at: datetime
    created_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    stages: list[StagePublic]


class ApprovalDetail(ApprovalPublic):
    """An approval with every decision and its whole history."""

    decisions: list[DecisionPublic]
    history: list[HistoryEntry]


class DecisionCreate(BaseModel):
    """An assignee's answer to the approval's current stage."""

    model_config = ConfigDict(extra="forbid")

    decision: Literal["approve", "deny"]
    comment: str = Field(default="", max_length=4000)


class DelegationCreate(BaseModel):
    """Hand one's part of the current stage to another owner (a person or a group)."""

    model_config = ConfigDict(extra="forbid")

    to: UUID
    comment: str = Field(default="", max_length=4000)


class Durations(BaseModel):
    """How long something took, in seconds, over the items that got there."""

    count: int
    mean_s: float | None
    p50_s: float | None
    p90_s: float | None


class SlaFigures(BaseModel):
    """Events of one group: how many, how fast, how often within their SLA."""

    events: int
    time_to_acknowledge: Durations
    time_to_resolve: Durations
    slas_met: int
    slas_breached: int
    compliance: float | None
    """Share of finished SLAs that were met (None when none finished)."""


class ApprovalFigures(BaseModel):
    """Approvals opened in the range."""

    approvals: int
    approved: int
    denied: int
    expired: int
    pending: int
    escalations: int
    time_to_decide: Durations


class SlaReport(BaseModel):
    """The SLA report of one time range (events and approvals created in it)."""

    since: datetime
    until: datetime
    by_severity: dict[str, SlaFigures]
    by_owner: dict[str, SlaFigures]
    approvals: ApprovalFigures
