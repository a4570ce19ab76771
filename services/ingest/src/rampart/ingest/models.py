"""API models of events, split by use."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

Severity = Literal["low", "medium", "high", "critical"]
Status = Literal["new", "open", "closed"]

SLA_MINUTES: dict[str, int] = {"critical": 30, "high": 60, "medium": 720, "low": 1440}


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


class EventPublic(BaseModel):
    """An event as the API shows it."""

    id: UUID
    source: str
    source_ref: str | None
    name: str
    severity: Severity
    labels: list[str]
    status: Status
    data: dict[str, Any]
    occurred_at: datetime | None
    due_at: datetime
    sla_breached_at: datetime | None
    created_at: datetime


class EventAccepted(BaseModel):
    """The answer to a post: the event's id, and whether it was new."""

    id: UUID
    created: bool
