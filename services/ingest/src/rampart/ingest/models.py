"""API models of events, artifacts, notes and workbooks, split by use."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from rampart.ingest.normalized import Severity

__all__ = ["Severity", "Status"]
from rampart.ingest.settings import DEFAULT_SLA_MINUTES

Status = Literal["new", "open", "closed"]

# kept for code that imported the defaults from here
SLA_MINUTES: dict[str, int] = {str(k): v for k, v in DEFAULT_SLA_MINUTES.items()}


class ArtifactCreate(BaseModel):
    """An artifact to add: CEF fields; ``contains`` types are detected from the values."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="artifact", min_length=1, max_length=200)
    cef: dict[str, Any] = Field(min_length=1, max_length=200)


class EventCreate(BaseModel):
    """An event posted as Rampart's own JSON."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=500)
    source: str = Field(default="api", min_length=1, max_length=200)
    source_ref: str | None = Field(default=None, max_length=500)
    severity: Severity = "medium"
    labels: list[str] = Field(default_factory=list, max_length=50)
    occurred_at: datetime | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    artifacts: list[ArtifactCreate] = Field(default_factory=list, max_length=100)


class ArtifactPublic(BaseModel):
    """An artifact as the API shows it."""

    id: UUID
    name: str
    cef: dict[str, Any]
    contains: dict[str, list[str]]
    created_at: datetime


class NotePublic(BaseModel):
    """A note on an event."""

    id: UUID
    author: str | None
    text: str
    created_at: datetime


class TaskPublic(BaseModel):
    """A workbook task."""

    id: UUID
    phase_id: UUID
    name: str
    position: int
    owner: str | None
    sla_minutes: int | None
    due_at: datetime | None
    status: Literal["open", "done"]
    note: str | None
    completed_by: str | None
    completed_at: datetime | None
    sla_breached_at: datetime | None


class PhasePublic(BaseModel):
    """A workbook phase with its tasks."""

    id: UUID
    name: str
    position: int
    owner: str | None
    sla_minutes: int | None
    due_at: datetime | None
    sla_breached_at: datetime | None
    tasks: list[TaskPublic]


class EventPublic(BaseModel):
    """An event as lists show it."""

    id: UUID
    source: str
    source_ref: str | None
    name: str
    severity: Severity
    labels: list[str]
    status: Status
    owner: str | None
    resolution: str | None
    data: dict[str, Any]
    occurred_at: datetime | None
    due_at: datetime
    sla_breached_at: datetime | None
    closed_at: datetime | None
    created_at: datetime
    updated_at: datetime


class EventDetail(EventPublic):
    """One event with its artifacts, notes and workbook."""

    artifacts: list[ArtifactPublic]
    notes: list[NotePublic]
    workbook: list[PhasePublic]


class EventPage(BaseModel):
    """A page of events; pass ``next_cursor`` as ``cursor`` for the next one."""

    items: list[EventPublic]
    next_cursor: str | None


class EventAccepted(BaseModel):
    """The answer to a post: the event's id, and whether it was new."""

    id: UUID
    created: bool


class EventUpdate(BaseModel):
    """Fields of an event an analyst changes; those left out stay as they are."""

    model_config = ConfigDict(extra="forbid")

    status: Status | None = None
    resolution: str | None = Field(default=None, min_length=1, max_length=2000)
    severity: Severity | None = None
    owner: str | None = Field(default=None, max_length=200)
    labels: list[str] | None = Field(default=None, max_length=50)
    add_labels: list[str] = Field(default_factory=list, max_length=50)
    remove_labels: list[str] = Field(default_factory=list, max_length=50)


class NoteCreate(BaseModel):
    """A note to add to an event."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=20000)


class TaskCreate(BaseModel):
    """A task to add to an event's workbook; its phase is made when it does not exist."""

    model_config = ConfigDict(extra="forbid")

    phase: str = Field(min_length=1, max_length=200)
    name: str = Field(min_length=1, max_length=500)
    owner: str | None = Field(default=None, max_length=200)
    sla_minutes: int | None = Field(default=None, gt=0, le=525_600)


class TaskComplete(BaseModel):
    """Completing a task takes a note."""

    model_config = ConfigDict(extra="forbid")

    note: str = Field(min_length=1, max_length=20000)


class PhaseSpec(BaseModel):
    """A phase to add, with its tasks."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    owner: str | None = Field(default=None, max_length=200)
    sla_minutes: int | None = Field(default=None, gt=0, le=525_600)
    tasks: list[TaskCreate] = Field(default_factory=list, max_length=100)


class WorkbookApply(BaseModel):
    """Add a template's phases (``nist-800-61``) or phases given here to an event."""

    model_config = ConfigDict(extra="forbid")

    template: Literal["nist-800-61"] | None = None
    phases: list[PhaseSpec] = Field(default_factory=list, max_length=50)
    owner: str | None = Field(default=None, max_length=200, description="owner of every phase")

    @model_validator(mode="after")
    def _one_of(self) -> WorkbookApply:
        if (self.template is None) == (not self.phases):
            raise ValueError("give either a template or phases")
        return self


class IngestError(BaseModel):
    """One event of a batch that was not stored, and why."""

    index: int
    line: int | None = None
    field: str
    detail: str


class IngestResult(BaseModel):
    """One stored event of a batch: its position, id and whether it was new."""

    index: int
    id: UUID
    created: bool


class IngestAccepted(BaseModel):
    """The answer to a webhook: the stored events, and the ones refused with the reason."""

    accepted: int
    events: list[IngestResult]
    errors: list[IngestError]
