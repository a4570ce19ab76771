"""Messages about events, their status and their workbook tasks (owned by ingest)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from rampart.core.messages._base import Message

Severity = Literal["low", "medium", "high", "critical"]


class EventIngested(Message):
    """A new event was stored (or an existing one was first seen from a source)."""

    message_type: ClassVar[str] = "rampart.event.ingested.v1"

    event_id: UUID
    source: str
    source_ref: str | None = None
    name: str
    severity: Severity
    labels: list[str] = Field(default_factory=list)
    status: str = "new"
    occurred_at: datetime | None = None
    due_at: datetime | None = None
    artifact_count: int = 0


class EventUpdated(Message):
    """Fields of an event changed; ``changes`` maps each field to its new value."""

    message_type: ClassVar[str] = "rampart.event.updated.v1"

    event_id: UUID
    changes: dict[str, Any]
    updated_by: str | None = None


class EventClosed(Message):
    """An event was closed with a resolution."""

    message_type: ClassVar[str] = "rampart.event.closed.v1"

    event_id: UUID
    resolution: str
    closed_at: datetime
    closed_by: str | None = None


class TaskCreated(Message):
    """A workbook task was added to an event, with its SLA."""

    message_type: ClassVar[str] = "rampart.task.created.v1"

    event_id: UUID
    task_id: UUID
    phase: str
    name: str
    owner: str | None = None
    due_at: datetime | None = None


class TaskCompleted(Message):
    """A workbook task was completed with a note."""

    message_type: ClassVar[str] = "rampart.task.completed.v1"

    event_id: UUID
    task_id: UUID
    completed_by: str | None = None
    note: str = ""
    completed_at: datetime


class PhaseStarted(Message):
    """A workbook phase was added to an event, with its owner and SLA; its clock starts."""

    message_type: ClassVar[str] = "rampart.phase.started.v1"

    event_id: UUID
    phase_id: UUID
    name: str
    owner: str | None = None
    started_at: datetime
    due_at: datetime | None = None


class PhaseCompleted(Message):
    """Every task of a workbook phase is done; its clock stops."""

    message_type: ClassVar[str] = "rampart.phase.completed.v1"

    event_id: UUID
    phase_id: UUID
    completed_at: datetime


class TaskSpec(BaseModel):
    """A workbook task to add to an event."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    phase: str = Field(min_length=1, max_length=200)
    name: str = Field(min_length=1, max_length=500)
    owner: str | None = None
    sla_minutes: int | None = Field(default=None, gt=0)


class TaskCompletion(BaseModel):
    """A workbook task to complete, by id or by name, with a note."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    task_id: UUID | None = None
    name: str | None = None
    note: str = ""


class EventChangeRequested(Message):
    """A playbook (or another service) asks ingest to change an event it owns.

    Every field left empty is left unchanged; ``request_key`` makes a resend a no-op.
    """

    message_type: ClassVar[str] = "rampart.event.change.requested.v1"

    event_id: UUID
    request_key: str = Field(min_length=1, max_length=200)
    requested_by: str
    status: Literal["new", "open", "closed"] | None = None
    resolution: str | None = None
    severity: Severity | None = None
    owner: str | None = None
    add_labels: list[str] = Field(default_factory=list)
    note: str | None = None
    artifacts: list[dict[str, Any]] = Field(default_factory=list)
    add_task: TaskSpec | None = None
    complete_task: TaskCompletion | None = None
