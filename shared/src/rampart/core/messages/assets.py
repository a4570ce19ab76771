"""Messages about assets and owners (owned by the asset registry)."""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID

from pydantic import Field

from rampart.core.messages._base import Message


class AssetCreated(Message):
    """An asset was configured."""

    message_type: ClassVar[str] = "rampart.asset.created.v1"

    asset_id: UUID
    name: str
    connector: str
    tags: list[str] = Field(default_factory=list)


class AssetUpdated(Message):
    """An asset's configuration, tags, owners or policy changed; ``fields`` names them."""

    message_type: ClassVar[str] = "rampart.asset.updated.v1"

    asset_id: UUID
    name: str
    fields: list[str]


class AssetDeleted(Message):
    """An asset was removed."""

    message_type: ClassVar[str] = "rampart.asset.deleted.v1"

    asset_id: UUID
    name: str


class OwnerCreated(Message):
    """A person or group that answers for assets was added."""

    message_type: ClassVar[str] = "rampart.owner.created.v1"

    owner_id: UUID
    name: str
    kind: str


class OwnerUpdated(Message):
    """An owner's contacts or members changed; ``fields`` names them."""

    message_type: ClassVar[str] = "rampart.owner.updated.v1"

    owner_id: UUID
    name: str
    fields: list[str]


class OwnerDeleted(Message):
    """An owner was removed."""

    message_type: ClassVar[str] = "rampart.owner.deleted.v1"

    owner_id: UUID
    name: str
