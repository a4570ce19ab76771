"""HTTP routes of the asset registry."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from rampart.assets import service
from rampart.core.auth import Principal, Role, require_roles

router = APIRouter(tags=["assets"])

Reader = Annotated[Principal, Depends(require_roles(Role.ANALYST, Role.SERVICE))]


@router.get("/assets", summary="List assets")
async def get_assets(request: Request, _who: Reader) -> list[service.AssetPublic]:
    """Every configured asset."""
    async with request.state.pool.acquire() as conn:
        return await service.list_assets(conn=conn)


@router.get("/owners", summary="List owners")
async def get_owners(request: Request, _who: Reader) -> list[service.OwnerPublic]:
    """Every owner."""
    async with request.state.pool.acquire() as conn:
        return await service.list_owners(conn=conn)
