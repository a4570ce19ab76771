"""What ``ctx.act`` and friends return, and the errors a playbook can catch.

Exception hierarchy::

    PlaybookError            base of what a playbook may catch from ``ctx``
    ├── ActionFailed         an action failed, was denied, expired or was cancelled
    └── ChildRunFailed       a child playbook run failed or was cancelled

The engine's own stops (a non-deterministic replay, a blown budget) are not catchable: they
derive from ``BaseException`` so an ``except Exception`` in a playbook cannot swallow them.
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
    """The outcome of one ``ctx.act``: overall status and the result of every asset."""

    action: str
    status: str
    message: str = ""
    results: tuple[AssetOutcome, ...] = ()

    @property
    def ok(self) -> bool:
        """True when every asset succeeded."""
        return self.status == SUCCESS

    @property
    def data(self) -> list[Mapping[str, Any]]:
        """The data rows of every asset, in asset order."""
        return [row for r in self.results for row in r.data]

    @property
    def summary(self) -> dict[str, Any]:
        """The single asset's summary; with several assets, each asset's summary by name."""
        if len(self.results) == 1:
            return dict(self.results[0].summary)
        return {r.asset: dict(r.summary) for r in self.results}

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
