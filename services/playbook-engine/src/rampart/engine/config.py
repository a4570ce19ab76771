"""The playbook engine's own settings, read from ``RAMPART_ENGINE_*`` when the engine starts,
and the names it is known by: its schema and the source of its messages."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

SCHEMA = "engine"
"""The engine's PostgreSQL schema."""

SOURCE = "rampart/playbook-engine"
"""The CloudEvents ``source`` of every message the engine publishes."""


class EngineSettings(BaseSettings):
    """How many playbook processes to run, where playbooks come from, and the engine's waits."""

    model_config = SettingsConfigDict(env_prefix="RAMPART_ENGINE_", extra="ignore")

    playbooks_dir: Path | None = Field(
        default=Path("playbooks"), description="folder synced at start and on change; unset: none"
    )
    processes: int = Field(default=2, ge=1, le=64, description="playbook processes per replica")
    sync_interval_s: float = Field(default=2.0, gt=0, description="how often the folder is read")
    timer_interval_s: float = Field(default=1.0, gt=0, description="poll for due timers")
    timer_retry_s: float = Field(
        default=2.0,
        gt=0,
        description="first wait before a failed timer or trigger job is tried again (doubles)",
    )
    timer_attempts: int = Field(
        default=8,
        ge=1,
        description="failures of a timer (or trigger job) on its data before its run (job) fails",
    )
    predicate_timeout_s: float = Field(default=5.0, gt=0, description="budget of one predicate")
    inspect_timeout_s: float = Field(default=10.0, gt=0, description="budget to import a source")
    lock_timeout_s: float = Field(default=60.0, gt=0, description="wait for another replica's run")
    http_timeout_s: float = Field(default=10.0, gt=0, description="calls to ingest")
