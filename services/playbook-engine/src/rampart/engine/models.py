"""API schemas of the playbook engine, split by use."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from rampart.core.vocabulary import PLAYBOOK_NAME
from rampart.engine.playbooks.versions import PlaybookVersion

RunStatus = Literal["pending", "waiting", "completed", "failed", "cancelled"]
PromptStatus = Literal["pending", "answered", "expired", "cancelled"]


class PlaybookCreate(BaseModel):
    """A playbook module's source to upload as a new version."""

    model_config = ConfigDict(extra="forbid")

    source: str = Field(min_length=1, max_length=256 * 1024, description="the module's Python")
    active: bool | None = Field(
        default=None, description="activate or deactivate it; default: keep (new: active)"
    )


class PlaybookUpdate(BaseModel):
    """A change to a playbook (every version)."""

    model_config = ConfigDict(extra="forbid")

    active: bool


class BudgetPublic(BaseModel):
    """What one run may use."""

    step_seconds: float
    steps: int
    duration_s: float | None


class PlaybookPublic(BaseModel):
    """A playbook version as the API lists it."""

    name: str
    version: int
    labels: list[str]
    priority: int
    active: bool
    description: str
    has_predicate: bool
    on_update: bool
    budget: BudgetPublic
    digest: str
    origin: str
    path: str | None
    created_by: str | None
    created_at: datetime

    @classmethod
    def of(cls, version: PlaybookVersion) -> PlaybookPublic:
        """The public view of a stored version."""
        return cls(
            name=version.name,
            version=version.version,
            labels=list(version.labels),
            priority=version.priority,
            active=version.active,
            description=version.description,
            has_predicate=version.has_predicate,
            on_update=version.on_update,
            budget=BudgetPublic(**version.budget.to_json()),
            digest=version.digest,
            origin=version.origin,
            path=version.path,
            created_by=version.created_by,
            created_at=version.created_at,
        )


class PlaybookDetail(PlaybookPublic):
    """A playbook version with its source and the list of all versions."""

    source: str
    versions: list[int]


class RunCreate(BaseModel):
    """Run a playbook on an event by hand."""

    model_config = ConfigDict(extra="forbid")

    playbook: str = Field(pattern=PLAYBOOK_NAME)
    event_id: UUID
    version: int | None = Field(default=None, ge=1, description="default: the newest")


class RunPublic(BaseModel):
    """A playbook run as the API lists it."""

    id: UUID
    playbook: str
    version: int
    event_id: UUID
    status: RunStatus
    trigger: str
    parent_run_id: UUID | None
    steps: int
    passes: int
    result: Any
    error: str | None
    requested_by: str
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None


class TimelineEntry(BaseModel):
    """One step of a run: the command, its status and its result (or the log line)."""

    seq: int
    kind: str
    summary: str
    command: dict[str, Any]
    status: Literal["pending", "done"]
    result: Any
    created_at: datetime
    completed_at: datetime | None


class RunDetail(RunPublic):
    """A run with its timeline and the event snapshot it works on."""

    event: dict[str, Any]
    timeline: list[TimelineEntry]


class PromptPublic(BaseModel):
    """A question a playbook asked a person."""

    id: UUID
    run_id: UUID
    seq: int
    event_id: UUID
    question: str
    recipient: str
    choices: list[str]
    status: PromptStatus
    answer: str | None
    answered_by: str | None
    due_at: datetime
    created_at: datetime
    answered_at: datetime | None


class PromptAnswer(BaseModel):
    """A person's answer to a prompt."""

    model_config = ConfigDict(extra="forbid")

    answer: str = Field(min_length=1, max_length=2000)
