"""Messages about events, their status and their workbook tasks (owned by ingest)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Literal
from uuid import UUID

from pydantic import Field
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
