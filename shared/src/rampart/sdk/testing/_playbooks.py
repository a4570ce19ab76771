"""``PlaybookHarness``: run a playbook in a unit test, against scripted results, answers and time.

```python
harness = PlaybookHarness(contain_malware, assets={"perimeter": ["fw-1", "fw-2"]})
harness.on_action("terminate process", status="denied", message="owner said no")
harness.answer("yes")
value = await harness.run(event)
assert [a.action for a in harness.acts] == ["get process dump", "terminate process"]
```

The harness is a ``Context`` of its own, run on the test's event loop: no engine, no
database, no bus. It checks each ``ctx.act`` against the action catalog exactly as the engine
does (``InvalidAction`` naming the step and the field), answers actions from what was
scripted (success on every asset otherwise), prompts from the scripted answers in order
(a prompt with none left times out to ``None``), and keeps a clock that only ``ctx.sleep``
and prompt timeouts move.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid as uuidlib
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from rampart.core.vocabulary import EventStatus, EventStatusName, Severity, SeverityName
from rampart.sdk.playbook import (
    ActionFailed,
    ActionResult,
    AssetOutcome,
    BudgetExceeded,
    ChildRunFailed,
    Context,
    Event,
    Playbook,
    check_act,
    describe_act,
    duration_seconds,
    jsonable,
)

__all__ = ["ActCall", "PlaybookHarness", "PromptCall"]

START = datetime(2026, 1, 1, tzinfo=UTC)
ACT_OK = frozenset({"success", "partial"})


@dataclass(frozen=True, slots=True)
class ActCall:
    """One ``ctx.act`` the playbook made: step, action, target (``{"asset": ...}``), params."""

    step: int
    action: str
    target: Mapping[str, str]
    params: Mapping[str, Any]

    def __str__(self) -> str:
        return describe_act(self.action, self.target, self.params)


@dataclass(frozen=True, slots=True)
class PromptCall:
    """One ``ctx.prompt``: the question, its recipient, choices, timeout and the answer given."""

    step: int
    question: str
    to: str
    choices: tuple[str, ...]
    timeout: timedelta
    answer: str | None


ActionScript = Callable[[ActCall, tuple[str, ...]], ActionResult]
PromptScript = Callable[[PromptCall], str | None]


def _seconds(duration: float | timedelta, what: str) -> timedelta:
    return timedelta(seconds=duration_seconds(duration, what=what))


def _outcomes(
    action: str, assets: tuple[str, ...], status: str, summary: Mapping[str, Any], message: str
) -> ActionResult:
    results = tuple(
        AssetOutcome(asset=a, status=status, summary=dict(summary), message=message) for a in assets
    )
    if not results:
        return ActionResult(action, "failed", "no asset matched the target", ())
    return ActionResult(action, status, message, results)


class PlaybookHarness(Context):
    """Runs one playbook on an event with scripted action results, prompt answers and time.

    ``assets`` maps each tag (or product) the playbook targets to the asset names it
    resolves to; ``ctx.assets(tag=...)`` answers from it too. What the run did is kept on
    the harness: ``acts``, ``prompts``, ``changes`` (notes, status, tasks, ...), ``logs``,
    ``sleeps``, ``children`` and the clock ``clock`` (which began at ``start``).
    """

    def __init__(
        self,
        target: Playbook,
        *,
        assets: Mapping[str, Sequence[str]] | None = None,
        start: datetime = START,
    ) -> None:
        if not isinstance(target, Playbook):
            raise TypeError(f"PlaybookHarness runs a @playbook, got {target!r}")
        self.target = target
        self.assets_by_tag: dict[str, tuple[str, ...]] = {
            k: tuple(v) for k, v in (assets or {}).items()
        }
        self.start = start
        self.clock = start
        self.acts: list[ActCall] = []
        self.prompts: list[PromptCall] = []
        self.changes: list[dict[str, Any]] = []
        self.logs: list[tuple[str, dict[str, Any]]] = []
        self.sleeps: list[timedelta] = []
        self.children: list[str] = []
        self._run_id = uuidlib.uuid4()
        self._steps = 0
        self._ids = itertools.count(1)
        self._actions: dict[str, ActionScript] = {}
        self._answers: deque[str | PromptScript | None] = deque()
        self._child_results: dict[str, Any] = {}
        self._child_failures: dict[str, str] = {}

    # scripting

    def on_action(
        self,
        action: str,
        *,
        status: str = "success",
        summary: Mapping[str, Any] | None = None,
        message: str = "",
        result: ActionScript | None = None,
    ) -> None:
        """Answer every ``ctx.act(action, ...)`` with ``status`` (and ``summary``) on each asset.

        ``result`` instead computes the ``ActionResult`` from the call and its assets.
        """

        def scripted(call: ActCall, assets: tuple[str, ...]) -> ActionResult:
            return _outcomes(call.action, assets, status, summary or {}, message)

        self._actions[action] = result or scripted

    def answer(self, *answers: str | PromptScript | None) -> None:
        """Answer the next prompts in order; ``None`` lets one time out."""
        self._answers.extend(answers)

    def on_child(self, name: str, value: Any = None, *, fails: str | None = None) -> None:
        """What ``ctx.run_playbook(name)`` returns, or the reason it fails (``fails=``)."""
        if fails is not None:
            self._child_failures[name] = fails
        else:
            self._child_results[name] = value

    # running

    async def run(self, event: Event | Mapping[str, Any]) -> Any:
        """Run the playbook on ``event`` to its end; returns its value (raises what it raised).

        ``InvalidAction`` and ``BudgetExceeded`` stop the run as they do in the engine.
        """
        found = event if isinstance(event, Event) else Event.from_json(event)
        return await self.target(self, found)

    @property
    def notes(self) -> list[str]:
        """The notes the playbook added, in order."""
        return [c["note"] for c in self.changes if "note" in c]

    def _step(self) -> int:
        self._steps += 1
        if self._steps > self.target.budget.steps:
            raise BudgetExceeded(
                f"the run blew its budget of {self.target.budget.steps} steps at step {self._steps}"
            )
        return self._steps

    def _resolve(self, target: Mapping[str, str]) -> tuple[str, ...]:
        if "asset" in target:
            return (target["asset"],)
        name = target.get("tag") or target.get("product") or ""
        return tuple(self.assets_by_tag.get(name, ()))

    # the Context

    @property
    def run_id(self) -> UUID:
        """This run's id."""
        return self._run_id

    @property
    def playbook(self) -> str:
        """The running playbook's name."""
        return self.target.name

    async def act(
        self,
        action: str,
        *,
        asset: str | None = None,
        tag: str | None = None,
        product: str | None = None,
        **params: Any,
    ) -> ActionResult:
        """Check the call as the engine does, then answer it from the script."""
        step = self._steps + 1
        plain = jsonable(params)
        target = check_act(action, step=step, asset=asset, tag=tag, product=product, params=plain)
        self._step()
        call = ActCall(step, action, target, plain)
        self.acts.append(call)
        await asyncio.sleep(0)  # a real act waits: let parallel branches interleave
        script = self._actions.get(action)
        assets = self._resolve(target)
        if script is None:
            result = _outcomes(action, assets, "success", {}, "")
        else:
            result = script(call, assets)
        if result.status not in ACT_OK:
            raise ActionFailed(result)
        return result

    async def prompt(
        self,
        question: str,
        *,
        to: str,
        choices: Sequence[str] | None = None,
        timeout: float | timedelta = timedelta(hours=1),  # noqa: ASYNC109 - a durable wait
    ) -> str | None:
        """The next scripted answer; with none left the prompt times out (the clock moves)."""
        if not question.strip() or not to.strip():
            raise ValueError("ctx.prompt needs a question and a recipient (to=)")
        step = self._step()
        wait = _seconds(timeout, "a prompt's timeout")
        call = PromptCall(step, question, to, tuple(choices or ()), wait, None)
        scripted = self._answers.popleft() if self._answers else None
        answer = scripted(call) if callable(scripted) else scripted
        if answer is None:
            self.clock += wait
        elif call.choices and answer not in call.choices:
            raise ValueError(f"the scripted answer {answer!r} is not one of {call.choices}")
        self.prompts.append(PromptCall(step, question, to, call.choices, wait, answer))
        return answer

    async def sleep(self, duration: float | timedelta) -> None:
        """Move the clock by ``duration`` at once."""
        self._step()
        wait = _seconds(duration, "a sleep")
        self.sleeps.append(wait)
        self.clock += wait

    async def run_playbook(self, name: str) -> Any:
        """The scripted value of the child, or ``ChildRunFailed``."""
        self._step()
        self.children.append(name)
        if name in self._child_failures:
            raise ChildRunFailed(name, self._child_failures[name])
        if name not in self._child_results:
            raise ChildRunFailed(name, f"the harness has no result for playbook {name!r}")
        return self._child_results[name]

    async def assets(self, *, tag: str | None = None, action: str | None = None) -> list[str]:
        """The assets ``assets=`` lists for ``tag`` (every listed asset without one)."""
        self._step()
        if tag is None:
            return list(dict.fromkeys(a for names in self.assets_by_tag.values() for a in names))
        return list(self.assets_by_tag.get(tag, ()))

    def _change(self, **change: Any) -> None:
        self._step()
        self.changes.append(jsonable(change))

    async def add_note(self, text: str) -> None:
        """Keep the note."""
        self._change(note=str(text))

    async def add_artifact(
        self,
        cef: Mapping[str, Any],
        *,
        contains: Mapping[str, Sequence[str]] | None = None,
        name: str = "",
    ) -> None:
        """Keep the artifact."""
        artifact: dict[str, Any] = {"cef": dict(cef)}
        if contains:
            artifact["contains"] = {k: list(v) for k, v in contains.items()}
        if name:
            artifact["name"] = name
        self._change(artifacts=[artifact])

    async def set_status(
        self, status: EventStatus | EventStatusName, *, resolution: str | None = None
    ) -> None:
        """Keep the status change; closing needs a resolution, as in the engine."""
        chosen = EventStatus(status)
        if chosen is EventStatus.CLOSED and not resolution:
            raise ValueError("closing an event needs a resolution")
        change: dict[str, Any] = {"status": chosen.value}
        if resolution:
            change["resolution"] = resolution
        self._change(**change)

    async def set_severity(self, severity: Severity | SeverityName) -> None:
        """Keep the severity change."""
        self._change(severity=Severity(severity).value)

    async def set_owner(self, owner: str) -> None:
        """Keep the owner change."""
        self._change(owner=str(owner))

    async def add_task(
        self,
        name: str,
        *,
        phase: str,
        owner: str | None = None,
        sla_minutes: int | None = None,
    ) -> None:
        """Keep the task."""
        task: dict[str, Any] = {"name": name, "phase": phase}
        if owner is not None:
            task["owner"] = owner
        if sla_minutes is not None:
            task["sla_minutes"] = int(sla_minutes)
        self._change(add_task=task)

    async def complete_task(
        self, name: str | None = None, *, task_id: UUID | None = None, note: str = ""
    ) -> None:
        """Keep the completion."""
        if (name is None) == (task_id is None):
            raise ValueError("ctx.complete_task needs exactly one of name or task_id=")
        done: dict[str, Any] = {"note": note}
        if name is not None:
            done["name"] = name
        else:
            done["task_id"] = str(task_id)
        self._change(complete_task=done)

    def now(self) -> datetime:
        """The harness's clock."""
        self._step()
        return self.clock

    def uuid(self) -> UUID:
        """A new UUID, the same sequence on every run of the test."""
        self._step()
        return UUID(int=next(self._ids), version=4)

    def log(self, message: str, **fields: Any) -> None:
        """Keep the line."""
        self._step()
        self.logs.append((str(message), jsonable(fields)))
