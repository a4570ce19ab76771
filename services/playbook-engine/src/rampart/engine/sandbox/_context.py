"""The ``Context`` a playbook gets during a replay pass: every call is matched to the history.

A call whose step number is in the run's history must be the same command as recorded (or
the run fails as non-deterministic, naming the step); its recorded result answers it. A call
past the history is new: it is recorded, and the engine carries it out after the pass.
"""

from __future__ import annotations

import asyncio
import uuid as uuidlib
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn
from uuid import UUID

from rampart.core.vocabulary import EventStatus, EventStatusName, Severity, SeverityName
from rampart.engine.steps import (
    Act,
    ActTarget,
    Assets,
    Change,
    Child,
    Command,
    Log,
    NewId,
    Now,
    Prompt,
    Sleep,
    Step,
)
from rampart.sdk.playbook import (
    ActionFailed,
    ActionResult,
    BudgetExceeded,
    ChildRunFailed,
    Context,
    EngineStop,
    NonDeterministicPlaybook,
    check_act,
    duration_seconds,
    jsonable,
)

ACT_OK = frozenset({"success", "partial"})

Lookup = Callable[[str, dict[str, Any]], Any]


class ReplayContext(Context):
    """One pass's context: answers from the history, records what is new."""

    def __init__(
        self,
        *,
        run_id: UUID,
        playbook: str,
        history: Sequence[Step],
        max_steps: int,
        lookup: Lookup,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self._run_id = run_id
        self._playbook = playbook
        self._history = history
        self._max_steps = max_steps
        self._lookup = lookup
        self._loop = loop
        self._next = 1
        self.new: list[Step] = []
        self.futures: dict[int, asyncio.Future[Any]] = {}
        self.stop: EngineStop | None = None
        self.sealed = False

    @property
    def run_id(self) -> UUID:
        """This run's id."""
        return self._run_id

    @property
    def playbook(self) -> str:
        """The running playbook's name."""
        return self._playbook

    @property
    def issued(self) -> int:
        """How many commands this pass has issued so far."""
        return self._next - 1

    # recording

    def _step(self, command: Command) -> tuple[int, Step | None]:
        if self.sealed:
            raise RuntimeError("this run's context is closed; the pass has ended")
        if self.stop is not None:
            raise self.stop
        seq = self._next
        self._next += 1
        if seq <= len(self._history):
            recorded = self._history[seq - 1]
            if recorded.command != command:
                self._halt(
                    NonDeterministicPlaybook(
                        f"non-deterministic playbook: step {seq} is "
                        f"{recorded.command.describe()} in the run's history, but the playbook "
                        f"now issued {command.describe()}"
                    )
                )
            return seq, recorded
        if seq > self._max_steps:
            self._halt(
                BudgetExceeded(
                    f"the run blew its budget of {self._max_steps} steps at step {seq} "
                    f"({command.describe()})"
                )
            )
        return seq, None

    def _halt(self, stop: EngineStop) -> NoReturn:
        self.stop = stop
        raise stop

    def _immediate(self, command: Command, make: Callable[[], Any]) -> Any:
        seq, recorded = self._step(command)
        if recorded is not None:
            return recorded.result
        result = jsonable(make())
        self.new.append(Step(seq=seq, command=command, result=result))
        return result

    async def _external(self, command: Command) -> Any:
        seq, recorded = self._step(command)
        future: asyncio.Future[Any] = self._loop.create_future()
        self.futures[seq] = future
        if recorded is None:
            self.new.append(Step(seq=seq, command=command))
        return await future

    # the authors' API

    async def act(
        self,
        action: str,
        *,
        asset: str | None = None,
        tag: str | None = None,
        product: str | None = None,
        **params: Any,
    ) -> ActionResult:
        """Run an action on an asset, a tag's assets or a product's; see ``Context.act``."""
        if self.stop is not None:
            raise self.stop
        plain = jsonable(params)
        try:
            target = check_act(
                action, step=self._next, asset=asset, tag=tag, product=product, params=plain
            )
        except EngineStop as stop:
            self._halt(stop)
        command = Act(action=action, target=ActTarget.model_validate(target), params=plain)
        raw = await self._external(command)
        result = ActionResult.from_json({"action": action, **raw})
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
        """Ask a person and wait for the answer; None when ``timeout`` passes first."""
        if not question.strip() or not to.strip():
            raise ValueError("ctx.prompt needs a question and a recipient (to=)")
        command = Prompt(
            question=question,
            to=to,
            choices=list(choices or ()),
            timeout_s=duration_seconds(timeout, what="a prompt's timeout"),
        )
        raw = await self._external(command)
        answer = raw.get("answer")
        return None if answer is None else str(answer)

    async def sleep(self, duration: float | timedelta) -> None:
        """Wait on a durable timer."""
        await self._external(Sleep(seconds=duration_seconds(duration, what="a sleep")))

    async def run_playbook(self, name: str) -> Any:
        """Run another playbook on this event and return its result."""
        raw = await self._external(Child(playbook=name))
        if raw.get("status") != "completed":
            raise ChildRunFailed(name, str(raw.get("error") or raw.get("status")))
        return raw.get("value")

    async def assets(self, *, tag: str | None = None, action: str | None = None) -> list[str]:
        """Names of the assets with ``tag`` that can run ``action``, from the asset registry."""
        args = {"tag": tag, "action": action}
        names = self._immediate(
            Assets(tag=tag, action=action), lambda: self._lookup("assets", args)
        )
        return [str(n) for n in names]

    async def _change(self, **change: Any) -> None:
        self._immediate(Change.model_validate(jsonable(change)), lambda: None)

    async def add_note(self, text: str) -> None:
        """Add a note to the event."""
        await self._change(note=str(text))

    async def add_artifact(
        self,
        cef: Mapping[str, Any],
        *,
        contains: Mapping[str, Sequence[str]] | None = None,
        name: str = "",
    ) -> None:
        """Add an artifact to the event."""
        artifact: dict[str, Any] = {"cef": dict(cef)}
        if contains:
            artifact["contains"] = {k: list(v) for k, v in contains.items()}
        if name:
            artifact["name"] = name
        await self._change(artifacts=[artifact])

    async def set_status(
        self, status: EventStatus | EventStatusName, *, resolution: str | None = None
    ) -> None:
        """Move the event to another status."""
        try:
            chosen = EventStatus(status)
        except ValueError:
            raise ValueError(f"status must be new, open or closed, not {status!r}") from None
        if chosen is EventStatus.CLOSED and not resolution:
            raise ValueError("closing an event needs a resolution")
        change: dict[str, Any] = {"status": chosen.value}
        if resolution:
            change["resolution"] = resolution
        await self._change(**change)

    async def set_severity(self, severity: Severity | SeverityName) -> None:
        """Change the event's severity."""
        await self._change(severity=Severity(severity).value)

    async def set_owner(self, owner: str) -> None:
        """Assign the event to an owner."""
        await self._change(owner=str(owner))

    async def add_task(
        self,
        name: str,
        *,
        phase: str,
        owner: str | None = None,
        sla_minutes: int | None = None,
    ) -> None:
        """Add a workbook task."""
        task: dict[str, Any] = {"name": name, "phase": phase}
        if owner is not None:
            task["owner"] = owner
        if sla_minutes is not None:
            task["sla_minutes"] = int(sla_minutes)
        await self._change(add_task=task)

    async def complete_task(
        self, name: str | None = None, *, task_id: UUID | None = None, note: str = ""
    ) -> None:
        """Complete a workbook task by name or id."""
        if (name is None) == (task_id is None):
            raise ValueError("ctx.complete_task needs exactly one of name or task_id=")
        done: dict[str, Any] = {"note": note}
        if name is not None:
            done["name"] = name
        else:
            done["task_id"] = str(task_id)
        await self._change(complete_task=done)

    def now(self) -> datetime:
        """The current time, the same on every replay."""
        value = self._immediate(Now(), lambda: datetime.now(UTC).isoformat())
        return datetime.fromisoformat(value)

    def uuid(self) -> UUID:
        """A fresh UUID, the same on every replay."""
        return UUID(self._immediate(NewId(), lambda: str(uuidlib.uuid4())))

    def log(self, message: str, **fields: Any) -> None:
        """Add a line to the run's timeline."""
        self._immediate(Log(message=str(message), fields=jsonable(fields)), lambda: None)
