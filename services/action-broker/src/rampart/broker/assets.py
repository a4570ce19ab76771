"""The asset registry as the broker reaches it: over its HTTP API, with the service token."""

from __future__ import annotations

import base64
from typing import Any
from uuid import UUID

import httpx
from pydantic import BaseModel, ConfigDict

from rampart.core.errors import TransientError
from rampart.core.messages import ActionTarget
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
    """Asset search and sealed configurations through the registry's API."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def _get(self, path: str, params: dict[str, Any] | None = None) -> httpx.Response:
        try:
            response = await self._client.get(path, params=params)
        except httpx.HTTPError as exc:
            raise TransientError(f"the asset registry could not be reached: {exc!r}") from exc
        if response.status_code >= 500 or response.status_code in (401, 403, 429):
            # a registry starting, overloaded or not yet knowing our token: later may work
            raise TransientError(
                f"the asset registry answered {response.status_code} to {path}: "
                f"{response.text[:200]}"
            )
        return response

    async def find(self, target: ActionTarget) -> list[Asset]:
        """Assets the target names: one by name, every one with a tag or of a product."""
        if target.asset is not None:
            query = {"name": target.asset}
        elif target.tag is not None:
            query = {"tag": target.tag}
        else:
            query = {"product": target.product or ""}
        response = await self._get("/api/v1/assets", {**query, "limit": 1000})
        if response.status_code != 200:
            raise TransientError(f"the asset search answered {response.status_code}")
        return [Asset.model_validate(item) for item in response.json()]

    async def get(self, asset_id: UUID) -> Asset | None:
        """One asset by id; None if there is none."""
        response = await self._get(f"/api/v1/assets/{asset_id}")
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise TransientError(f"the asset lookup answered {response.status_code}")
        return Asset.model_validate(response.json())

    async def sealed_config(self, asset_id: UUID) -> Sealed | None:
        """The asset's sealed configuration; None if the asset is gone."""
        response = await self._get(f"/api/v1/assets/{asset_id}/sealed-config")
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise TransientError(f"the sealed configuration answered {response.status_code}")
        return Sealed.model_validate(response.json())
