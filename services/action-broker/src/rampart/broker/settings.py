"""How the broker and its runners pace work, read from ``RAMPART_BROKER_*`` variables."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class BrokerSettings(BaseSettings):
    """Timeouts, retries, leases and the reconciler's pace."""

    model_config = SettingsConfigDict(env_prefix="RAMPART_BROKER_", extra="ignore")

    action_timeout_s: float = Field(default=300.0, gt=0, description="one attempt's limit")
    max_attempts: int = Field(default=3, ge=1, le=20, description="tries of a transient failure")
    backoff_s: float = Field(default=2.0, ge=0, description="first retry delay; doubles")
    backoff_max_s: float = Field(default=300.0, ge=0)
    lease_s: float = Field(default=30.0, gt=0, description="how long a runner holds a run")
    reconcile_interval_s: float = Field(default=1.0, gt=0)
    redispatch_after_s: float = Field(
        default=30.0, gt=0, description="re-send a queued run no runner took by then"
    )
    runner_name: str | None = Field(default=None, description="defaults to host:pid")

    @property
    def heartbeat_s(self) -> float:
        """How often a running attempt renews its lease."""
        return self.lease_s / 3
