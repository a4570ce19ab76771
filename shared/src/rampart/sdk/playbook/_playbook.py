"""The ``@playbook`` decorator, the ``Playbook`` it makes and the ``Budget`` a run may use."""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, overload

from rampart.core.vocabulary import PLAYBOOK_NAME
from rampart.sdk.playbook._context import Context
from rampart.sdk.playbook._event import Event

__all__ = ["Budget", "Entry", "Playbook", "Predicate", "playbook"]

_NAME = re.compile(PLAYBOOK_NAME)

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
