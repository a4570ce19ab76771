"""Messages about action runs (requested by the engine, run by the action broker)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from rampart.core.messages._base import Message


class ActionTarget(BaseModel):
    """Where an action runs: one asset by name, every asset with a tag, or a product type."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    asset: str | None = None
    tag: str | None = None
    product: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> ActionTarget:
        given = [v for v in (self.asset, self.tag, self.product) if v]
        if len(given) != 1:
            raise ValueError("a target names exactly one of asset, tag or product")
        return self


class ActionRequested(Message):
    """A playbook or a person asks for an action; ``request_key`` makes a resend a no-op."""

    message_type: ClassVar[str] = "rampart.action.requested.v1"

    request_key: str = Field(min_length=1, max_length=200)
    action: str
    target: ActionTarget
    params: dict[str, Any] = Field(default_factory=dict)
    event_id: UUID | None = None
    run_id: UUID | None = None
    requested_by: str
    not_before: datetime | None = None


class ActionDispatched(Message):
    """A ready action run, sent to its connector's own queue (topic: the connector's name).

    Runners take the run from the broker's store; the message only wakes one of them.
    """

    message_type: ClassVar[str] = "rampart.action.dispatched.v1"
    routing_topic: ClassVar[str | None] = "connector"

    action_run_id: UUID
    request_key: str
    action: str
    asset_id: UUID
    asset: str
    connector: str
    fingerprint: str


class ActionStarted(Message):
    """An attempt of an action run started on one asset through one connector."""

    message_type: ClassVar[str] = "rampart.action.started.v1"

    action_run_id: UUID
    request_key: str
    action: str
    asset: str
    connector: str
    attempt: int = 1


class AssetResult(BaseModel):
    """The outcome of an action on one asset."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    asset: str
    status: Literal["success", "failed", "denied", "expired", "cancelled", "unknown"]
    summary: dict[str, Any] = Field(default_factory=dict)
    data: list[dict[str, Any]] = Field(default_factory=list)
    message: str = ""
    action_run_id: UUID | None = None
    vault_ids: list[UUID] = Field(default_factory=list)


class ActionCompleted(Message):
    """An action request reached its end on every asset it resolved to."""

    message_type: ClassVar[str] = "rampart.action.completed.v1"

    request_key: str
    action: str
    status: Literal["success", "failed", "partial", "denied", "expired", "cancelled", "unknown"]
    results: list[AssetResult] = Field(default_factory=list)
    event_id: UUID | None = None
    run_id: UUID | None = None
    message: str = ""
