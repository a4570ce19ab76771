"""An asset's approval policy: which actions wait for its owners, how many yeses, how long."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from rampart.sdk.catalog import CATALOG, ActionKind, action_spec

__all__ = ["MIN_STAGE_MINUTES", "ApprovalPolicy", "StageSla"]

MIN_STAGE_MINUTES = 1 / 60
"""The shortest an approval stage may be: one second."""


def _known_actions(names: list[str]) -> list[str]:
    unknown = [n for n in names if n not in CATALOG]
    if unknown:
        raise ValueError(f"not actions of the catalog: {', '.join(repr(n) for n in unknown)}")
    return list(dict.fromkeys(names))


class StageSla(BaseModel):
    """Minutes each approval stage has before it escalates (or, at the last stage, expires).

    A fraction of a minute is allowed, down to one second (``0.1`` is six seconds): a drill or a
    test can let a stage pass while it watches.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    primary: float = Field(default=30, ge=MIN_STAGE_MINUTES, le=10_080)
    secondary: float = Field(default=30, ge=MIN_STAGE_MINUTES, le=10_080)
    executive: float = Field(default=60, ge=MIN_STAGE_MINUTES, le=10_080)


class ApprovalPolicy(BaseModel):
    """Actions of ``kinds`` or named in ``actions`` need approval, unless named in ``exempt``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kinds: list[ActionKind] = Field(
        default_factory=lambda: [ActionKind.CONTAIN, ActionKind.CORRECT], max_length=5
    )
    actions: list[str] = Field(default_factory=list, max_length=100)
    exempt: list[str] = Field(default_factory=list, max_length=100)
    approvals_required: int = Field(default=1, ge=1, le=20)
    sla_minutes: StageSla = Field(default_factory=StageSla)

    @field_validator("actions", "exempt")
    @classmethod
    def _in_catalog(cls, names: list[str]) -> list[str]:
        return _known_actions(names)

    def needs_approval(self, action: str) -> bool:
        """Whether running ``action`` on an asset with this policy waits for its owners."""
        if action in self.exempt:
            return False
        return action in self.actions or action_spec(action).kind in self.kinds
