"""The webhook's answer: the events stored and the ones refused, with the reason."""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel


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
