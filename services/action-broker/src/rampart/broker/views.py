"""HTTP routes of the action broker."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from rampart.broker import service
from rampart.core.auth import Principal, Role, require_roles

router = APIRouter(tags=["actions"])

Reader = Annotated[Principal, Depends(require_roles(Role.ANALYST, Role.SERVICE))]


@router.get("/action-runs", summary="List action requests and their status")
async def get_action_runs(
    request: Request, _who: Reader, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> list[service.ActionRequestPublic]:
    """Action requests, newest first."""
    async with request.state.pool.acquire() as conn:
        return await service.list_requests(conn=conn, limit=limit)
