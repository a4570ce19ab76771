"""API models of action runs and their attempts."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from rampart.core.messages import ActionTarget

RunStatus = Literal[
    "pending_approval",
    "scheduled",
    "queued",
    "running",
    "success",
    "failed",
    "denied",
    "expired",
    "cancelled",
    "unknown",
]
TERMINAL: frozenset[str] = frozenset(
    {"success", "failed", "denied", "expired", "cancelled", "unknown"}
)
"""States a run never leaves by itself."""
SETTLED: frozenset[str] = TERMINAL - {"unknown"}
"""Ends that settle the run's request: an ``unknown`` run waits for a person to say which."""


class AttemptPublic(BaseModel):
    """One try of a run on a runner."""

    number: int
    runner: str
    started_at: datetime
    ended_at: datetime | None
    outcome: Literal["success", "failed", "transient", "timeout", "lost"] | None
    error: str


class ActionRunPublic(BaseModel):
    """An action on one asset: what runs, its approval, its state and result."""

    id: UUID
    request_key: str
    action: str
    asset_id: UUID
    asset: str
    connector: str
    params: dict[str, Any]
    fingerprint: str
    retry_safe: bool
    status: RunStatus
    not_before: datetime | None
    approval: dict[str, Any] | None
    decided_by: str | None
    decision_comment: str
    attempt_count: int
    event_id: UUID | None
    playbook_run_id: UUID | None
    requested_by: str
    summary: dict[str, Any]
    data: list[dict[str, Any]]
    message: str
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None


class ActionRunDetail(ActionRunPublic):
    """A run with every attempt."""

    attempts: list[AttemptPublic]


class ActionRunCreate(BaseModel):
    """An analyst runs an action by hand: the same resolution and gate as a playbook's."""

    model_config = ConfigDict(extra="forbid")

    action: str = Field(min_length=1, max_length=100)
    target: ActionTarget
    params: dict[str, Any] = Field(default_factory=dict)
    event_id: UUID | None = None
    request_key: str | None = Field(
        default=None, min_length=1, max_length=200, description="a resend with it is a no-op"
    )
    not_before: datetime | None = Field(default=None, description="run no earlier than this")


class ActionRequestAccepted(BaseModel):
    """The runs a request resolved to; ``created`` is false for a resend of a known key."""

    request_key: str
    created: bool
    runs: list[ActionRunPublic]


class ActionRunPage(BaseModel):
    """One page of runs, newest first; pass ``next_cursor`` as ``cursor`` for the next."""

    items: list[ActionRunPublic]
    next_cursor: UUID | None


class ActionRunResolve(BaseModel):
    """How a person settles an ``unknown`` run."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["success", "failed"] = Field(description="whether it took effect")
    comment: str = Field(default="", max_length=2000)
