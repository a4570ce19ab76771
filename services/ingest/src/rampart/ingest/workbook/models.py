"""API models of workbooks: phases and tasks to add, complete and show."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator


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
    completed_at: datetime | None = Field(
        default=None, description="when the last of its tasks was done"
    )
    tasks: list[TaskPublic]
