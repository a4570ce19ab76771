"""API models of owners and assets, split by use so a read model can never carry a secret."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from rampart.sdk.policy import ApprovalPolicy

_EMAIL = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\".]+$")


def _email(value: str) -> str:
    value = value.strip()
    if not _EMAIL.match(value):
        raise ValueError("must be an e-mail address such as soc@example.com")
    return value


def _web_url(value: str) -> str:
    value = value.strip()
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL")
    return value


Email = Annotated[str, Field(max_length=320), AfterValidator(_email)]
WebUrl = Annotated[str, Field(max_length=2000), AfterValidator(_web_url)]
OwnerName = Annotated[str, Field(min_length=1, max_length=200)]
AssetName = Annotated[
    str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
]
Tag = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")]
Description = Annotated[str, Field(max_length=2000)]
OwnerIds = Annotated[list[UUID], Field(max_length=100)]


class OwnerCreate(BaseModel):
    """A person or a group of people who answer for assets."""

    model_config = ConfigDict(extra="forbid")

    name: OwnerName
    kind: Literal["person", "group"] = "person"
    description: Description = ""
    email: Email | None = None
    webhook_url: WebUrl | None = None
    slack_webhook_url: WebUrl | None = None
    teams_webhook_url: WebUrl | None = None
    members: list[UUID] = Field(default_factory=list, max_length=1000)


class OwnerUpdate(BaseModel):
    """Changes to an owner; a field left out stays as it is, ``null`` clears a contact."""

    model_config = ConfigDict(extra="forbid")

    name: OwnerName | None = None
    description: Description | None = None
    email: Email | None = None
    webhook_url: WebUrl | None = None
    slack_webhook_url: WebUrl | None = None
    teams_webhook_url: WebUrl | None = None
    members: list[UUID] | None = Field(default=None, max_length=1000)


class OwnerPublic(BaseModel):
    """An owner as the API shows it; approver tokens carry its id as their subject."""

    id: UUID
    name: str
    kind: Literal["person", "group"]
    description: str
    email: str | None
    webhook_url: str | None
    slack_webhook_url: str | None
    teams_webhook_url: str | None
    members: list[UUID]
    member_of: list[UUID]
    created_at: datetime
    updated_at: datetime


class ApproverToken(BaseModel):
    """An approver token bound to a person; the secret is shown this once."""

    owner_id: UUID
    token_id: UUID
    name: str
    subject: str
    token: str


class AssetCreate(BaseModel):
    """A configured instance of a product."""

    model_config = ConfigDict(extra="forbid")

    name: AssetName
    description: Description = ""
    connector: str = Field(min_length=1, max_length=63)
    config: dict[str, Any] = Field(default_factory=dict)
    tags: list[Tag] = Field(default_factory=list, max_length=50)
    primary_owners: OwnerIds = Field(min_length=1)
    secondary_owners: OwnerIds = Field(default_factory=list)
    executive_approvers: OwnerIds = Field(default_factory=list)
    approval_policy: ApprovalPolicy = Field(default_factory=ApprovalPolicy)
    concurrency_limit: int = Field(default=4, ge=1, le=256)


class AssetUpdate(BaseModel):
    """Changes to an asset; a field left out stays as it is.

    ``config`` replaces the configuration, except that a secret field left out of it keeps
    its stored value: secrets are write-only and need not be sent again.
    """

    model_config = ConfigDict(extra="forbid")

    name: AssetName | None = None
    description: Description | None = None
    config: dict[str, Any] | None = None
    tags: list[Tag] | None = Field(default=None, max_length=50)
    primary_owners: OwnerIds | None = Field(default=None, min_length=1)
    secondary_owners: OwnerIds | None = None
    executive_approvers: OwnerIds | None = None
    approval_policy: ApprovalPolicy | None = None
    concurrency_limit: int | None = Field(default=None, ge=1, le=256)


class AssetPublic(BaseModel):
    """An asset as the API shows it: non-secret configuration, and which secrets are set."""

    id: UUID
    name: str
    description: str
    connector: str
    config: dict[str, Any]
    secrets: dict[str, bool]
    tags: list[str]
    primary_owners: list[UUID]
    secondary_owners: list[UUID]
    executive_approvers: list[UUID]
    approval_policy: ApprovalPolicy
    concurrency_limit: int
    created_at: datetime
    updated_at: datetime


class SealedConfig(BaseModel):
    """An asset's configuration still encrypted: only a holder of the master key can open it."""

    asset_id: UUID
    connector: str
    key_id: str
    associated_data: str
    sealed: str = Field(description="base64 of the sealed configuration (rampart.core.crypto)")


class ActionPublic(BaseModel):
    """An action of the catalog, and which installed connectors implement it."""

    name: str
    kind: str
    description: str
    parameters: dict[str, Any]
    contains: dict[str, list[str]]
    undo: str | None
    apps: list[str]


class AppActionPublic(BaseModel):
    """One action as a connector implements it."""

    name: str
    kind: str
    output: dict[str, Any]
    has_widget: bool


class AppPublic(BaseModel):
    """An installed connector: its product, actions and asset-configuration schema."""

    name: str
    vendor: str
    product: str
    description: str
    version: str
    actions: list[AppActionPublic]
    config_schema: dict[str, Any]
    secret_fields: list[str]
    has_widget: bool
