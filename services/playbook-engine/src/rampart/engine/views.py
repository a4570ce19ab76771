"""HTTP routes of the playbook engine."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from rampart.core.auth import Principal, Role, require_roles
from rampart.engine import service

router = APIRouter(tags=["playbooks"])

Reader = Annotated[Principal, Depends(require_roles(Role.ANALYST, Role.SERVICE))]


@router.get("/playbooks", summary="List playbooks")
async def get_playbooks(request: Request, _who: Reader) -> list[service.PlaybookPublic]:
    """The newest version of every playbook."""
    async with request.state.pool.acquire() as conn:
        return await service.list_playbooks(conn=conn)


@router.get("/engine/events", summary="Events the engine has received")
async def get_engine_events(
    request: Request, _who: Reader, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> list[service.KnownEvent]:
    """Events the engine has been told about, newest first."""
    async with request.state.pool.acquire() as conn:
        return await service.list_events(conn=conn, limit=limit)
