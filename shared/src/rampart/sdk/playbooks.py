"""The playbook authors' API: the ``@playbook`` decorator and the ``Context`` a run gets.

A playbook is a module with one ``async def`` decorated with ``@playbook``; the engine calls it
with a ``Context`` and the ``Event``. Everything that leaves the playbook goes through the
context, which records it in the run's history so the run can be replayed after a restart.
"""

from __future__ import annotations

import abc
import inspect
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, overload
from uuid import UUID

from rampart.sdk._playbook_event import CEF_CONTAINS, Artifact, Event, Severity
from rampart.sdk._playbook_results import (
    ActionFailed,
    ActionResult,
    AssetOutcome,
    BudgetExceeded,
    ChildRunFailed,
    EngineStop,
    NonDeterministicPlaybook,
    PlaybookError,
)

__all__ = [
    "CEF_CONTAINS",
    "ActionFailed",
    "ActionResult",
    "Artifact",
    "AssetOutcome",
    "Budget",
    "BudgetExceeded",
    "ChildRunFailed",
    "Context",
    "EngineStop",
    "Event",
    "NonDeterministicPlaybook",
    "Playbook",
    "PlaybookError",
    "Predicate",
    "Severity",
    "playbook",
]

_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,99}$")

Predicate = Callable[[Event], bool]
Entry = Callable[["Context", Event], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Budget:
    """What one run may use before the engine stops it, failing the run with the reason.

    ``step_seconds``: wall-clock time the playbook's code may run between two waits (one
    replay pass); the engine kills the code past it, busy loops included. ``steps``: commands
    (acts, prompts, notes, logs, ...) one run may issue. ``duration``: time from start to
    end, waits for results and approvals included; ``None`` for no limit.
    """

    step_seconds: float = 30.0
    steps: int = 1000
    duration: timedelta | None = timedelta(days=7)

    def __post_init__(self) -> None:
        if not 0 < self.step_seconds <= 3600:
            raise ValueError("Budget.step_seconds must be in (0, 3600]")
        if not 1 <= self.steps <= 100_000:
            raise ValueError("Budget.steps must be in [1, 100000]")
        if self.duration is not None and self.duration <= timedelta(0):
            raise ValueError("Budget.duration must be positive")

    def to_json(self) -> dict[str, Any]:
        """The budget as the engine stores it."""
        return {
            "step_seconds": self.step_seconds,
            "steps": self.steps,
            "duration_s": None if self.duration is None else self.duration.total_seconds(),
        }

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> Budget:
        """The budget back from its stored form."""
        duration = value.get("duration_s")
        return cls(
            step_seconds=float(value.get("step_seconds", 30.0)),
            steps=int(value.get("steps", 1000)),
            duration=None if duration is None else timedelta(seconds=float(duration)),
        )


@dataclass(frozen=True, slots=True)
class Playbook:
    """A decorated playbook entry point and its trigger, priority and budget."""

    func: Entry
    name: str
    labels: tuple[str, ...] = ()
    when: Predicate | None = None
    priority: int = 100
    budget: Budget = field(default_factory=Budget)
    on_update: bool = False
    description: str = ""

    async def __call__(self, ctx: Context, event: Event) -> Any:
        """Run the playbook's code (the engine does this, inside a replay)."""
        return await self.func(ctx, event)

    def matches(self, event: Event) -> bool:
        """Whether ``event`` triggers this playbook: a shared label, then the predicate."""
        if "*" not in self.labels and not any(label in event.labels for label in self.labels):
            return False
        return bool(self.when(event)) if self.when is not None else True


@overload
def playbook(func: Entry, /) -> Playbook: ...


@overload
def playbook(
    *,
    name: str | None = None,
    labels: Sequence[str] = (),
    when: Predicate | None = None,
    priority: int = 100,
    budget: Budget | None = None,
    on_update: bool = False,
    description: str | None = None,
) -> Callable[[Entry], Playbook]: ...


def playbook(
    func: Entry | None = None,
    /,
    *,
    name: str | None = None,
    labels: Sequence[str] = (),
    when: Predicate | None = None,
    priority: int = 100,
    budget: Budget | None = None,
    on_update: bool = False,
    description: str | None = None,
) -> Playbook | Callable[[Entry], Playbook]:
    """Declare a module's playbook: ``@playbook(labels=["malware"], when=..., priority=10)``.

    ``labels``: the event labels that trigger it (``"*"`` for every event; none means it runs
    only by hand or as a child). ``when``: a predicate over the event, checked after the
    labels. ``priority``: lower runs first when several playbooks match one event.
    ``on_update``: also run when the event is updated later. ``name`` defaults to the
    function's name with ``_`` kept.
    """

    def wrap(fn: Entry) -> Playbook:
        if not inspect.iscoroutinefunction(fn):
            raise TypeError(f"@playbook needs an async def, got {fn!r}")
        chosen = name or fn.__name__
        if not _NAME.match(chosen):
            raise ValueError(
                f"playbook name {chosen!r} must be lower case letters, digits, '_' or '-'"
            )
        if isinstance(labels, str):
            raise TypeError("labels must be a list of strings, not one string")
        return Playbook(
            func=fn,
            name=chosen,
            labels=tuple(labels),
            when=when,
            priority=int(priority),
            budget=budget or Budget(),
            on_update=on_update,
            description=description if description is not None else inspect.getdoc(fn) or "",
        )

    return wrap(func) if func is not None else wrap


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
        self, action: str, *, asset: str | None = None, tag: str | None = None, **params: Any
    ) -> ActionResult:
        """Run an action on one asset (``asset=``) or every asset with a tag (``tag=``).

        Returns when the action finished, however long approvals took. Raises
        ``ActionFailed`` when it failed, was denied, expired or was cancelled on every asset;
        when some assets succeed and others do not, returns with status ``partial``.
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
    async def set_status(self, status: str, *, resolution: str | None = None) -> None:
        """Move the event to ``new``, ``open`` or ``closed`` (closing needs a resolution)."""

    @abc.abstractmethod
    async def set_severity(self, severity: Severity | str) -> None:
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
