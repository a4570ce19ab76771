"""API models of events, their artifacts and notes, split by use."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from rampart.core.vocabulary import EventStatusName, SeverityName
from rampart.ingest.workbook.models import PhasePublic


class ArtifactCreate(BaseModel):
    """An artifact to add: CEF fields; ``contains`` types are detected from the values."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="artifact", min_length=1, max_length=200)
    cef: dict[str, Any] = Field(min_length=1, max_length=200)


class EventCreate(BaseModel):
    """An event posted as Rampart's own JSON."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=500)
    source: str = Field(
        default="api",
        min_length=1,
        max_length=200,
        description="a name for this stream of events; recorded as `api:<token id>:<source>`",
    )
    source_ref: str | None = Field(default=None, max_length=500)
    severity: SeverityName = "medium"
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


class EventPublic(BaseModel):
    """An event as lists show it."""

    id: UUID
    source: str
    source_ref: str | None
    name: str
    severity: SeverityName
    labels: list[str]
    status: EventStatusName
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

    status: EventStatusName | None = None
    resolution: str | None = Field(default=None, min_length=1, max_length=2000)
    severity: SeverityName | None = None
    owner: str | None = Field(default=None, max_length=200)
    labels: list[str] | None = Field(default=None, max_length=50)
    add_labels: list[str] = Field(default_factory=list, max_length=50)
    remove_labels: list[str] = Field(default_factory=list, max_length=50)


class NoteCreate(BaseModel):
    """A note to add to an event."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=20000)
