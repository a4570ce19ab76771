"""What ``ctx.act`` and friends return, and the errors a playbook can catch.

Exception hierarchy::

    PlaybookError            base of what a playbook may catch from ``ctx``
    ├── ActionFailed         an action failed, was denied, expired or was cancelled
    └── ChildRunFailed       a child playbook run failed or was cancelled

    EngineStop (BaseException)  the run stops at once; ``except Exception`` cannot catch it
    ├── InvalidAction           ``ctx.act`` named an unknown action, or parameters (or a
    │                           target) its catalog schema refuses
    ├── NonDeterministicPlaybook a replay issued another command than the history holds
    └── BudgetExceeded          the run used more steps than its budget allows
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

SUCCESS = "success"


@dataclass(frozen=True, slots=True)
class AssetOutcome:
    """How an action went on one asset."""

    asset: str
    status: str
    summary: Mapping[str, Any] = field(default_factory=dict)
    data: Sequence[Mapping[str, Any]] = ()
    message: str = ""

    @property
    def ok(self) -> bool:
        """Whether the action succeeded on this asset."""
        return self.status == SUCCESS


@dataclass(frozen=True, slots=True)
class ActionResult:
    """The outcome of one ``ctx.act``, one shape however many assets answered.

    ``by_asset`` holds each asset's ``AssetOutcome`` by name, in the order the assets
    answered; ``one()`` is the outcome of an action that ran on exactly one asset.
    """

    action: str
    status: str
    message: str = ""
    results: tuple[AssetOutcome, ...] = ()

    @property
    def ok(self) -> bool:
        """True when every asset succeeded."""
        return self.status == SUCCESS

    @property
    def by_asset(self) -> Mapping[str, AssetOutcome]:
        """Each asset's outcome, by asset name."""
        return {r.asset: r for r in self.results}

    @property
    def assets(self) -> list[str]:
        """The names of the assets that answered, in order."""
        return [r.asset for r in self.results]

    def one(self) -> AssetOutcome:
        """The outcome on the single asset the action ran on; ``ValueError`` if not one."""
        if len(self.results) != 1:
            names = ", ".join(self.assets) or "none"
            raise ValueError(
                f"{self.action!r} answered from {len(self.results)} assets ({names}), "
                "not one: read result.by_asset[name] or result.results"
            )
        return self.results[0]

    @property
    def data(self) -> list[Mapping[str, Any]]:
        """The data rows of every asset, in asset order."""
        return [row for r in self.results for row in r.data]

    @property
    def failures(self) -> list[AssetOutcome]:
        """The assets on which the action did not succeed."""
        return [r for r in self.results if not r.ok]

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> ActionResult:
        """Build a result from the ``action.completed`` data the engine recorded."""
        return cls(
            action=str(value.get("action", "")),
            status=str(value.get("status", "")),
            message=str(value.get("message") or ""),
            results=tuple(
                AssetOutcome(
                    asset=str(r.get("asset", "")),
                    status=str(r.get("status", "")),
                    summary=dict(r.get("summary") or {}),
                    data=tuple(r.get("data") or ()),
                    message=str(r.get("message") or ""),
                )
                for r in value.get("results") or ()
            ),
        )


class PlaybookError(Exception):
    """Base of the errors a playbook can catch from its context."""


class ActionFailed(PlaybookError):
    """An action did not succeed on any asset: failed, denied, expired or cancelled."""

    def __init__(self, result: ActionResult) -> None:
        reason = result.message or "; ".join(
            f"{r.asset}: {r.message or r.status}" for r in result.results
        )
        super().__init__(f"{result.action} {result.status}" + (f": {reason}" if reason else ""))
        self.result = result

    @property
    def status(self) -> str:
        """``failed``, ``denied``, ``expired`` or ``cancelled``."""
        return self.result.status


class ChildRunFailed(PlaybookError):
    """A playbook started with ``ctx.run_playbook`` failed or was cancelled."""

    def __init__(self, playbook: str, reason: str) -> None:
        super().__init__(f"playbook {playbook!r} failed: {reason}")
        self.playbook = playbook
        self.reason = reason


class EngineStop(BaseException):
    """Base of the engine's stops; a playbook cannot catch them with ``except Exception``."""


class NonDeterministicPlaybook(EngineStop):
    """A replay issued a different command than the run's history holds at that step."""


class BudgetExceeded(EngineStop):
    """A run used more steps than its budget allows."""


class InvalidAction(EngineStop):
    """``ctx.act`` was given an unknown action, parameters its schema refuses, or no target.

    ``step`` is the step the call would have been; ``fields`` the parameters at fault.
    """

    def __init__(self, message: str, *, step: int, fields: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.step = step
        self.fields = fields
