"""Messages about approvals and SLA timers (owned by the approvals service)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from rampart.core.messages._base import Message

ApprovalStage = Literal["primary", "secondary", "executive"]


class ApprovalStagePlan(BaseModel):
    """Who decides at one stage of an approval, and how long they have."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    stage: ApprovalStage
    assignees: list[str] = Field(min_length=1)
    sla_minutes: float = Field(gt=0, description="the stage's length; a fraction is allowed")


class ApprovalRequested(Message):
    """An action on an asset needs its owners' approval before it runs."""

    message_type: ClassVar[str] = "rampart.approval.requested.v1"

    action_run_id: UUID
    request_key: str
    action: str
    asset: str
    params: dict[str, Any] = Field(default_factory=dict)
    requested_by: str
    event_id: UUID | None = None
    required_approvals: int = Field(default=1, ge=1)
    stages: list[ApprovalStagePlan] = Field(min_length=1)
    connector: str | None = None
    fingerprint: str | None = Field(
        default=None,
        description="sha256 of the canonical JSON of action, asset, connector and parameters: "
        "exactly what will run on this approval's strength",
    )


class ApprovalNotified(Message):
    """An assignee was told about an approval through one channel."""

    message_type: ClassVar[str] = "rampart.approval.notified.v1"

    approval_id: UUID
    stage: ApprovalStage
    recipient: str
    channel: Literal["email", "webhook", "slack", "teams"]
    delivered: bool
    detail: str = ""


class ApprovalEscalated(Message):
    """An approval's SLA was breached and it moved to the next stage."""

    message_type: ClassVar[str] = "rampart.approval.escalated.v1"

    approval_id: UUID
    action_run_id: UUID
    from_stage: ApprovalStage
    to_stage: ApprovalStage
    assignees: list[str]
    due_at: datetime


class ApprovalDecided(Message):
    """An approval reached its end; only ``approved`` lets the action run."""

    message_type: ClassVar[str] = "rampart.approval.decided.v1"

    approval_id: UUID
    action_run_id: UUID
    request_key: str
    decision: Literal["approved", "denied", "expired", "cancelled"]
    decided_by: str | None = None
    decided_at: datetime
    comment: str = ""
    fingerprint: str | None = Field(
        default=None, description="the fingerprint of the approval.requested decided on"
    )


class SlaWarning(Message):
    """A due time is near: the configured share of an SLA has passed without it being met."""

    message_type: ClassVar[str] = "rampart.sla.warning.v1"

    subject_kind: Literal["event", "approval", "phase", "task"]
    subject_id: UUID
    event_id: UUID | None = None
    due_at: datetime
    warned_at: datetime


class SlaBreached(Message):
    """A due time passed on an event, an approval stage, a workbook phase or a task."""

    message_type: ClassVar[str] = "rampart.sla.breached.v1"

    subject_kind: Literal["event", "approval", "phase", "task"]
    subject_id: UUID
    event_id: UUID | None = None
    due_at: datetime
    breached_at: datetime


class SlaNotified(Message):
    """The outcome of telling a subject's owner of its SLA warning or breach on one channel."""

    message_type: ClassVar[str] = "rampart.sla.notified.v1"

    timer_id: UUID
    subject_kind: Literal["event", "approval", "phase", "task"]
    subject_id: UUID
    event_id: UUID | None = None
    reason: Literal["warning", "breach"]
    recipient: str
    channel: Literal["email", "slack", "teams", "webhook"]
    delivered: bool
    detail: str = ""
