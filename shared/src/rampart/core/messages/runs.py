"""Messages about playbook runs (owned by the playbook engine)."""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID

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
