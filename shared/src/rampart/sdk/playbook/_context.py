"""The ``Context`` a playbook run gets: everything it may do, each call recorded."""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from rampart.core.vocabulary import EventStatus, EventStatusName, Severity, SeverityName
from rampart.sdk.playbook._results import ActionResult

__all__ = ["Context"]


class Context(abc.ABC):
    """What a running playbook may do; every call is recorded in the run's durable history.

    Everything awaited here survives engine restarts: the engine replays the playbook from
    the top and answers recorded calls from the history. So a playbook must reach the world
    only through its context, and take time and randomness from ``now()`` and ``uuid()``.
    """

    @property
    @abc.abstractmethod
    def run_id(self) -> UUID:
        """This run's id."""

    @property
    @abc.abstractmethod
    def playbook(self) -> str:
        """The running playbook's name."""

    @abc.abstractmethod
    async def act(
        self,
        action: str,
        *,
        asset: str | None = None,
        tag: str | None = None,
        product: str | None = None,
        **params: Any,
    ) -> ActionResult:
        """Run an action on one asset (``asset=``), every asset with a tag (``tag=``) or every
        asset of a product (``product=``).

        The action and its parameters are checked against the action catalog when the call
        is made: an unknown action, a misspelt or missing parameter stops the run at once
        with ``InvalidAction`` naming the step and the field. Returns when the action
        finished, however long approvals took; the result has one shape however many assets
        answered (``result.by_asset``, ``result.one()``). Raises ``ActionFailed`` when it
        failed, was denied, expired or was cancelled on every asset; when some assets
        succeed and others do not, returns with status ``partial``.
        """

    @abc.abstractmethod
    async def prompt(
        self,
        question: str,
        *,
        to: str,
        choices: Sequence[str] | None = None,
        timeout: float | timedelta = timedelta(hours=1),  # noqa: ASYNC109 - a durable wait
    ) -> str | None:
        """Ask a person (``to``: a user or owner id) and wait for the answer; None on timeout."""

    @abc.abstractmethod
    async def sleep(self, duration: float | timedelta) -> None:
        """Wait ``duration`` (seconds or a timedelta) on a durable timer."""

    @abc.abstractmethod
    async def run_playbook(self, name: str) -> Any:
        """Run another playbook on this event and return its result; ``ChildRunFailed`` if not."""

    @abc.abstractmethod
    async def assets(self, *, tag: str | None = None, action: str | None = None) -> list[str]:
        """Names of the assets with ``tag`` that can run ``action`` (either may be omitted)."""

    @abc.abstractmethod
    async def add_note(self, text: str) -> None:
        """Add a note to the event."""

    @abc.abstractmethod
    async def add_artifact(
        self,
        cef: Mapping[str, Any],
        *,
        contains: Mapping[str, Sequence[str]] | None = None,
        name: str = "",
    ) -> None:
        """Add an artifact (CEF fields, and their ``contains`` types) to the event."""

    @abc.abstractmethod
    async def set_status(
        self, status: EventStatus | EventStatusName, *, resolution: str | None = None
    ) -> None:
        """Move the event to ``new``, ``open`` or ``closed`` (closing needs a resolution)."""

    @abc.abstractmethod
    async def set_severity(self, severity: Severity | SeverityName) -> None:
        """Change the event's severity."""

    @abc.abstractmethod
    async def set_owner(self, owner: str) -> None:
        """Assign the event to an owner."""

    @abc.abstractmethod
    async def add_task(
        self,
        name: str,
        *,
        phase: str,
        owner: str | None = None,
        sla_minutes: int | None = None,
    ) -> None:
        """Add a task to a phase of the event's workbook."""

    @abc.abstractmethod
    async def complete_task(
        self, name: str | None = None, *, task_id: UUID | None = None, note: str = ""
    ) -> None:
        """Complete a workbook task, by name or by id, with a note."""

    @abc.abstractmethod
    def now(self) -> datetime:
        """The current time, recorded: a replay sees the same value."""

    @abc.abstractmethod
    def uuid(self) -> UUID:
        """A fresh UUID, recorded: a replay sees the same value."""

    @abc.abstractmethod
    def log(self, message: str, **fields: Any) -> None:
        """Add a line to the run's timeline (once, not again on every replay)."""
