"""HTTP routes of the action broker."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from rampart.broker import service
from rampart.core.auth import Reader
from rampart.core.deps import Conn

router = APIRouter(tags=["actions"])


@router.get("/action-runs", summary="List action requests and their status")
async def get_action_runs(
    conn: Conn, _who: Reader, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> list[service.ActionRequestPublic]:
    """Action requests, newest first."""
    return await service.list_requests(conn=conn, limit=limit)
