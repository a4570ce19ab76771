"""Where notifications go out and how links are signed: ``RAMPART_APPROVALS_*`` settings."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class NotifySettings(BaseSettings):
    """Approval notifications' settings; each field is ``RAMPART_APPROVALS_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="RAMPART_APPROVALS_", extra="ignore")

    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_from: str = "rampart@localhost"
    smtp_starttls: bool = False
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    webhook_secret: SecretStr | None = Field(
        default=None,
        description="Standard Webhooks signing secret, 'whsec_<base64>'; unset: no webhook channel",
    )
    link_secret: SecretStr | None = Field(
        default=None,
        description="key of the decision links; unset: derived from RAMPART_MASTER_KEY",
    )
    public_url: str | None = Field(
        default=None, description="where people open decision links; unset: RAMPART_PUBLIC_URL"
    )
    attempts_per_channel: int = Field(default=3, ge=1, le=20)
    retry_base_s: float = Field(default=30.0, gt=0)
    retry_max_s: float = Field(default=900.0, gt=0)
    send_timeout_s: float = Field(default=10.0, gt=0)
    interval_s: float = Field(default=1.0, gt=0)
    batch: int = Field(default=50, ge=1, le=1000)
