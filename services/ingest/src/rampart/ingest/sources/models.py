"""API models of ingest sources, split by use so secrets never leak through a read model."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

import jmespath
from jmespath.exceptions import JMESPathError
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from rampart.core.vocabulary import SeverityName

SourceKind = Literal["splunk", "qradar", "arcsight", "generic", "sentinel", "elastic"]
AuthKind = Literal["bearer", "hmac", "url-token"]
WorkbookTemplate = Literal["nist-800-61"]
NAME_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,62}$"


def _compiles(expression: str, where: str) -> str:
    try:
        jmespath.compile(expression)
    except JMESPathError as exc:
        raise ValueError(f"{where}: not a JMESPath expression: {exc}") from None
    return expression


class GenericMapping(BaseModel):
    """Where a generic source's JSON keeps each field, as JMESPath expressions."""

    model_config = ConfigDict(extra="forbid")

    events: str | None = Field(
        default=None, description="the list of events in a body; without it, a body is one event"
    )
    name: str = Field(min_length=1, max_length=500)
    source_ref: str | None = Field(default=None, max_length=500)
    severity: str | None = Field(default=None, max_length=500)
    occurred_at: str | None = Field(default=None, max_length=500)
    labels: str | None = Field(default=None, max_length=500)
    artifacts: dict[str, str] = Field(
        default_factory=dict, max_length=100, description="CEF field name -> JMESPath"
    )

    @model_validator(mode="after")
    def _expressions_compile(self) -> GenericMapping:
        for field in ("events", "name", "source_ref", "severity", "occurred_at", "labels"):
            value = getattr(self, field)
            if value is not None:
                _compiles(value, field)
        for cef_field, expression in self.artifacts.items():
            _compiles(expression, f"artifacts.{cef_field}")
        return self


class QRadarPolling(BaseModel):
    """Pull offenses from a QRadar console's ``/api/siem/offenses``."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(pattern=r"^https?://[^\s/]+", max_length=500)
    interval_s: int = Field(default=60, ge=1, le=86400)
    verify_tls: bool = True
    api_version: str = Field(default="20.0", pattern=r"^[0-9]+(\.[0-9]+)?$")
    page_size: int = Field(default=50, ge=1, le=500)
    since: datetime | None = Field(
        default=None, description="the first poll reads offenses updated after this time"
    )


class _SourceFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    default_labels: list[str] = Field(default_factory=list, max_length=50)
    default_severity: SeverityName = "medium"
    severity_map: dict[str, SeverityName] = Field(
        default_factory=dict, max_length=100, description="what the source says -> severity"
    )
    sla_minutes: dict[SeverityName, int] = Field(default_factory=dict)
    workbook: WorkbookTemplate | None = None

    @field_validator("severity_map")
    @classmethod
    def _lower_keys(cls, value: dict[str, SeverityName]) -> dict[str, SeverityName]:
        return {k.strip().lower(): v for k, v in value.items()}

    @field_validator("sla_minutes")
    @classmethod
    def _positive(cls, value: dict[SeverityName, int]) -> dict[SeverityName, int]:
        for severity, minutes in value.items():
            if not 1 <= minutes <= 525_600:
                raise ValueError(f"{severity}: minutes must be between 1 and 525600")
        return value


class SourceCreate(_SourceFields):
    """A source to create; its secret is generated and shown once in the answer."""

    name: str = Field(pattern=NAME_PATTERN)
    kind: SourceKind
    auth: AuthKind = "hmac"
    mapping: GenericMapping | None = None
    qradar: QRadarPolling | None = None
    qradar_token: SecretStr | None = Field(default=None, description="QRadar's SEC token")

    @model_validator(mode="after")
    def _fits_kind(self) -> SourceCreate:
        mismatch = kind_mismatch(self.kind, self.mapping, self.qradar, self.qradar_token)
        if mismatch is not None:
            raise ValueError(": ".join(mismatch))
        return self


class SourceUpdate(BaseModel):
    """Fields of a source to change; those left out stay as they are."""

    model_config = ConfigDict(extra="forbid")

    auth: AuthKind | None = None
    default_labels: list[str] | None = Field(default=None, max_length=50)
    default_severity: SeverityName | None = None
    severity_map: dict[str, SeverityName] | None = Field(default=None, max_length=100)
    sla_minutes: dict[SeverityName, int] | None = None
    workbook: WorkbookTemplate | None = None
    mapping: GenericMapping | None = None
    qradar: QRadarPolling | None = None
    qradar_token: SecretStr | None = None


def kind_mismatch(
    kind: str,
    mapping: GenericMapping | None,
    qradar: QRadarPolling | None,
    qradar_token: SecretStr | None,
) -> tuple[str, str] | None:
    """The field that does not fit the source's kind and why, or None when all fit."""
    if kind == "generic" and mapping is None:
        return "mapping", "a generic source needs a mapping"
    if kind != "generic" and mapping is not None:
        return "mapping", "only generic sources take a mapping"
    if kind != "qradar" and (qradar is not None or qradar_token is not None):
        return "qradar", "only qradar sources poll QRadar"
    if qradar is not None and qradar_token is None:
        return "qradar_token", "polling QRadar needs its SEC token"
    return None


class SecretInfo(BaseModel):
    """A secret of a source, without its value."""

    id: UUID
    created_at: datetime
    expires_at: datetime | None


class SourcePublic(BaseModel):
    """A source as the API shows it: never a secret or the QRadar token."""

    id: UUID
    name: str
    kind: SourceKind
    auth: AuthKind
    default_labels: list[str]
    default_severity: SeverityName
    severity_map: dict[str, SeverityName]
    sla_minutes: dict[str, int]
    workbook: str | None
    mapping: GenericMapping | None
    qradar: QRadarPolling | None
    has_qradar_token: bool
    secrets: list[SecretInfo]
    webhook_path: str
    created_at: datetime
    updated_at: datetime


class SourceCreated(SourcePublic):
    """A new source, with its secret shown this once."""

    secret: str


class SecretRotate(BaseModel):
    """How long the current secret keeps working after a new one is made."""

    model_config = ConfigDict(extra="forbid")

    grace_minutes: int = Field(default=60, ge=0, le=10080)


class SecretRotated(BaseModel):
    """The new secret, shown this once, and until when the old ones still work."""

    secret: str
    previous_expire_at: datetime
