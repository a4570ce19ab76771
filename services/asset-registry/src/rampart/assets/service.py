"""The registry's store of assets and owners."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel

SCHEMA = "assets"


class OwnerPublic(BaseModel):
    """An owner as the API shows it."""

    id: UUID
    name: str
    kind: str
    email: str | None
    webhook_url: str | None
    created_at: datetime


class AssetPublic(BaseModel):
    """An asset as the API shows it: never its configuration's secrets."""

    id: UUID
    name: str
    connector: str
    tags: list[str]
    created_at: datetime


async def list_owners(*, conn: Any) -> list[OwnerPublic]:
    """Every owner by name."""
    rows = await conn.fetch(
        f"SELECT id, name, kind, email, webhook_url, created_at FROM {SCHEMA}.owners ORDER BY name"
    )
    return [OwnerPublic(**dict(r)) for r in rows]


async def list_assets(*, conn: Any) -> list[AssetPublic]:
    """Every asset by name."""
    rows = await conn.fetch(
        f"SELECT id, name, connector, tags, created_at FROM {SCHEMA}.assets ORDER BY name"
    )
    return [AssetPublic(**dict(r)) for r in rows]
