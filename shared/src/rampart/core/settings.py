"""One settings class for the platform, read from ``RAMPART_*`` environment variables."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Mode(StrEnum):
    """How Rampart runs: all services in one process, or each on its own."""

    EMBEDDED = "embedded"
    DISTRIBUTED = "distributed"


class Settings(BaseSettings):
    """Platform settings; every field can be set as ``RAMPART_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="RAMPART_", extra="ignore")

    mode: Mode = Mode.EMBEDDED
    database_url: SecretStr | None = None
    amqp_url: SecretStr | None = None
    data_dir: Path = Path(".rampart")
    master_key: SecretStr | None = Field(
        default=None, description="base64 of 32 random bytes; 'kid:base64' to name the key"
    )
    retired_master_keys: SecretStr | None = Field(
        default=None, description="comma-separated 'kid:base64' keys kept to decrypt old records"
    )
    bus_namespace: str = Field(
        default="rampart",
        pattern=r"^[a-z][a-z0-9_.-]{0,40}$",
        description="topic exchange name; queues are prefixed with it unless it is 'rampart'",
    )
    public_url: str = "http://127.0.0.1:8000"
    ingest_url: str | None = None
    engine_url: str | None = None
    broker_url: str | None = None
    approvals_url: str | None = None
    assets_url: str | None = None
    service_token: SecretStr | None = Field(
        default=None, description="a 'service' role token this process uses to call the others"
    )
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "INFO"
    log_format: Literal["auto", "json", "text"] = Field(
        default="auto", description="json lines, readable text, or auto: text on a terminal"
    )
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    max_json_depth: int = Field(default=32, ge=4)
    db_pool_min: int = Field(default=1, ge=1)
    db_pool_max: int = Field(default=10, ge=1)
    bus_prefetch: int = Field(default=32, ge=1)
    bus_delivery_limit: int = Field(default=5, ge=1)
    bus_retry_delay_ms: int = Field(default=200, ge=0)
    bus_max_message_bytes: int = Field(
        default=16 * 1024 * 1024,
        ge=64 * 1024,
        description="the broker's max_message_size; a bigger message is set aside, not sent",
    )
    publish_timeout_s: float = Field(default=10.0, gt=0)
    registry_timeout_s: float = Field(
        default=10.0, gt=0, description="each call of any service to the asset registry's API"
    )
    outbox_batch: int = Field(default=200, ge=1)
    inbox_retention_s: float = Field(
        default=7 * 24 * 3600,
        gt=0,
        description="how long a handled message id is remembered; longer than any redelivery",
    )
    inbox_prune_interval_s: float = Field(default=3600.0, gt=0)

    def service_url(self, service: str) -> str:
        """Base URL of another service's API; in embedded mode every service is at public_url."""
        explicit = {
            "ingest": self.ingest_url,
            "playbook-engine": self.engine_url,
            "action-broker": self.broker_url,
            "approvals": self.approvals_url,
            "asset-registry": self.assets_url,
        }[service]
        return (explicit or self.public_url).rstrip("/")

    @model_validator(mode="after")
    def _distributed_needs_real_secrets(self) -> Settings:
        if self.mode is Mode.DISTRIBUTED:
            missing = [
                name
                for name, value in (
                    ("RAMPART_MASTER_KEY", self.master_key),
                    ("RAMPART_DATABASE_URL", self.database_url),
                    ("RAMPART_AMQP_URL", self.amqp_url),
                )
                if value is None or not value.get_secret_value().strip()
            ]
            if missing:
                raise ValueError(f"distributed mode needs {', '.join(missing)}")
        return self
