"""What a step of a run is: one command a playbook issued through ``ctx``, and its result.

The commands are one discriminated union (``kind``), the single definition that the playbook
processes issue, the history table stores (``kind`` and ``command`` columns), replays compare
and the runs API shows. Immediate commands (``now``, ``uuid``, ``log``, ``change``,
``assets``) are answered during the pass that issued them; the others wait for a result
from outside the pass (an action's, a person's, a timer's, a child run's).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from rampart.core.vocabulary import EventStatusName, SeverityName
from rampart.sdk.playbook import MAX_DURATION, describe_act

__all__ = [
    "Act",
    "ActTarget",
    "Assets",
    "Change",
    "Child",
    "Command",
    "Log",
    "NewId",
    "Now",
    "Prompt",
    "Sleep",
    "Step",
    "command_of",
]


_MAX_S = MAX_DURATION.total_seconds()


class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    immediate: ClassVar[bool] = False
    """Whether the pass that issues the command also answers it."""

    kind: str

    def body(self) -> dict[str, Any]:
        """The command as the history stores it, without its kind."""
        return self.model_dump(mode="json", exclude={"kind"})

    def describe(self) -> str:
        """The command as a reader would write it, for timelines and error messages."""
        inner = ", ".join(f"{k}={v!r}" for k, v in self.body().items())
        return f"{self.kind}({inner})"

    def summary(self) -> str:
        """The command's line in a run's timeline."""
        return self.describe()


class ActTarget(BaseModel):
    """Where an action runs: one asset, every asset with a tag, or every asset of a product."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    asset: str | None = None
    tag: str | None = None
    product: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> ActTarget:
        if len([v for v in (self.asset, self.tag, self.product) if v]) != 1:
            raise ValueError("a target names exactly one of asset, tag or product")
        return self


class Act(_Command):
    """``ctx.act``: run an action; the result is the action's ``action.completed``."""

    kind: Literal["act"] = "act"
    action: str
    target: ActTarget
    params: dict[str, Any] = Field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        """``{"action", "target", "params"}``, the target naming only what is set."""
        return {
            "action": self.action,
            "target": self.target.model_dump(exclude_none=True),
            "params": self.params,
        }

    def describe(self) -> str:
        """``act('block ip', asset='fw-1', ip='192.0.2.1')``."""
        return describe_act(self.action, self.target.model_dump(exclude_none=True), self.params)


class Prompt(_Command):
    """``ctx.prompt``: ask a person; the result is the answer, or an expiry."""

    kind: Literal["prompt"] = "prompt"
    question: str
    to: str
    choices: list[str] = Field(default_factory=list)
    timeout_s: float = Field(ge=0, le=_MAX_S, allow_inf_nan=False)


class Sleep(_Command):
    """``ctx.sleep``: a durable timer."""

    kind: Literal["sleep"] = "sleep"
    seconds: float = Field(ge=0, le=_MAX_S, allow_inf_nan=False)


class Child(_Command):
    """``ctx.run_playbook``: run another playbook on the event; the result is its outcome."""

    kind: Literal["child"] = "child"
    playbook: str


class Assets(_Command):
    """``ctx.assets``: asset names from the registry, answered during the pass."""

    immediate: ClassVar[bool] = True
    kind: Literal["assets"] = "assets"
    tag: str | None = None
    action: str | None = None


class Change(_Command):
    """A change to the event (note, artifact, status, severity, owner, task), sent to ingest."""

    immediate: ClassVar[bool] = True
    kind: Literal["change"] = "change"
    note: str | None = None
    artifacts: list[dict[str, Any]] | None = None
    status: EventStatusName | None = None
    resolution: str | None = None
    severity: SeverityName | None = None
    owner: str | None = None
    add_task: dict[str, Any] | None = None
    complete_task: dict[str, Any] | None = None

    def body(self) -> dict[str, Any]:
        """Only the fields the change sets."""
        return self.model_dump(mode="json", exclude={"kind"}, exclude_none=True)


class Now(_Command):
    """``ctx.now()``: the time, recorded so every replay sees the same."""

    immediate: ClassVar[bool] = True
    kind: Literal["now"] = "now"


class NewId(_Command):
    """``ctx.uuid()``: a fresh UUID, recorded so every replay sees the same."""

    immediate: ClassVar[bool] = True
    kind: Literal["uuid"] = "uuid"


class Log(_Command):
    """``ctx.log``: a line in the run's timeline."""

    immediate: ClassVar[bool] = True
    kind: Literal["log"] = "log"
    message: str
    fields: dict[str, Any] = Field(default_factory=dict)

    def summary(self) -> str:
        """The line itself."""
        return self.message


Command = Annotated[
    Act | Prompt | Sleep | Child | Assets | Change | Now | NewId | Log,
    Field(discriminator="kind"),
]
_COMMAND: TypeAdapter[Command] = TypeAdapter(Command)


def command_of(kind: str, body: Mapping[str, Any]) -> Command:
    """A stored command back from its ``kind`` and ``command`` columns."""
    return _COMMAND.validate_python({**body, "kind": kind})


class Step(BaseModel):
    """One step of a run: its number, its command and, once known, its result.

    ``order`` is when an outside result arrived relative to the run's other results (None
    while it waits, and for immediate commands): replays hand results back in that order.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    seq: int = Field(ge=1)
    command: Command
    result: Any = None
    order: int | None = None

    @property
    def kind(self) -> str:
        """The command's kind."""
        return self.command.kind
