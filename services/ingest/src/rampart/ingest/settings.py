"""The ingest service's one settings object, read from ``RAMPART_INGEST_*`` at start."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from rampart.core.vocabulary import SeverityName

DEFAULT_SLA_MINUTES: dict[SeverityName, int] = {
    "critical": 30,
    "high": 60,
    "medium": 720,
    "low": 1440,
}


class IngestSettings(BaseSettings):
    """Every field can be set as ``RAMPART_INGEST_<NAME>``; the listeners are off by default."""

    model_config = SettingsConfigDict(env_prefix="RAMPART_INGEST_", extra="ignore")

    sla_minutes: dict[SeverityName, int] = Field(
        default_factory=lambda: dict(DEFAULT_SLA_MINUTES),
        description='minutes to the due time by severity, JSON: {"critical": 30, ...}',
    )
    replay_window_s: int = Field(default=300, ge=30, le=3600)
    source_cache_s: float = Field(default=5.0, ge=0)
    max_events_per_request: int = Field(default=1000, ge=1)
    group_commit_events: int = Field(default=2000, ge=1, description="events per transaction")
    group_commit_writers: int = Field(default=2, ge=1, le=16)
    syslog_host: str = "127.0.0.1"
    syslog_tcp_port: int | None = Field(default=None, ge=0, le=65535)
    syslog_udp_port: int | None = Field(default=None, ge=0, le=65535)
    syslog_source: str | None = Field(
        default=None, description="the source whose labels and severity map syslog CEF gets"
    )
    syslog_max_message: int = Field(default=65536, ge=1024)
    syslog_max_connections: int = Field(
        default=256, ge=1, description="TCP connections served at once; more are closed at once"
    )
    syslog_idle_timeout_s: float = Field(
        default=300.0, gt=0, description="a TCP connection that sends no whole message this long"
    )
    qradar_pollers: bool = Field(default=True, description="poll QRadar sources that ask for it")
    qradar_tick_s: float = Field(default=1.0, gt=0)

    def sla_for(self, overrides: dict[str, int] | None = None) -> dict[str, int]:
        """The SLA minutes by severity, with a source's overrides on top."""
        merged: dict[str, int] = {str(k): v for k, v in DEFAULT_SLA_MINUTES.items()}
        merged.update({str(k): v for k, v in self.sla_minutes.items()})
        merged.update(overrides or {})
        return merged
