"""The asset registry as the broker reads it: assets and sealed configurations."""

from __future__ import annotations

import base64
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from rampart.core.messages import ActionTarget
from rampart.core.registry_client import RegistryClient
from rampart.sdk.policy import ApprovalPolicy


class Asset(BaseModel):
    """What the broker needs of an asset (the registry's ``AssetPublic``, read leniently)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: UUID
    name: str
    connector: str
    tags: list[str]
    primary_owners: list[UUID]
    secondary_owners: list[UUID]
    executive_approvers: list[UUID]
    approval_policy: ApprovalPolicy
    concurrency_limit: int


class Sealed(BaseModel):
    """An asset's configuration as the registry stores it, still encrypted."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    asset_id: UUID
    connector: str
    associated_data: str
    sealed: str

    def sealed_bytes(self) -> bytes:
        """The sealed blob."""
        return base64.b64decode(self.sealed)


class AssetRegistry:
    """Asset search and sealed configurations, read through the shared registry client.

    ``UnavailableError`` when the registry cannot answer now (``rampart.core.registry_client``).
    """

    def __init__(self, client: RegistryClient) -> None:
        self._client = client

    async def find(self, target: ActionTarget) -> list[Asset]:
        """Assets the target names: one by name, every one with a tag or of a product."""
        if target.asset is not None:
            found = await self._client.assets(name=target.asset)
        elif target.tag is not None:
            found = await self._client.assets(tag=target.tag)
        else:
            found = await self._client.assets(product=target.product or "")
        return [Asset.model_validate(item) for item in found]

    async def get(self, asset_id: UUID) -> Asset | None:
        """One asset by id; None if there is none."""
        found = await self._client.asset(asset_id)
        return None if found is None else Asset.model_validate(found)

    async def sealed_config(self, asset_id: UUID) -> Sealed | None:
        """The asset's sealed configuration; None if the asset is gone."""
        found = await self._client.sealed_config(asset_id)
        return None if found is None else Sealed.model_validate(found)
