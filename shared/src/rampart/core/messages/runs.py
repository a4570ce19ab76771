"""Messages about playbook runs (owned by the playbook engine)."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar
from uuid import UUID

from pydantic import Field

from rampart.core.messages._base import Message


class PlaybookRunStarted(Message):
    """A playbook run started on an event, pinned to one playbook version."""

    message_type: ClassVar[str] = "rampart.playbook.run.started.v1"

    run_id: UUID
    playbook: str
    version: int
    event_id: UUID


class PlaybookRunCompleted(Message):
    """A playbook run finished without error."""

    message_type: ClassVar[str] = "rampart.playbook.run.completed.v1"

    run_id: UUID
    playbook: str
    event_id: UUID
    steps: int = 0


class PlaybookRunFailed(Message):
    """A playbook run failed, was cancelled or blew its budget; ``reason`` says which."""

    message_type: ClassVar[str] = "rampart.playbook.run.failed.v1"

    run_id: UUID
    playbook: str
    event_id: UUID
    reason: str


class PlaybookPromptRequested(Message):
    """A playbook run asks a person a question; answered through the engine's prompts API."""

    message_type: ClassVar[str] = "rampart.playbook.prompt.requested.v1"

    prompt_id: UUID
    run_id: UUID
    playbook: str
    event_id: UUID
    question: str
    recipient: str
    choices: list[str] = Field(default_factory=list)
    due_at: datetime
