"""HTTP routes of the approvals service."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from rampart.approvals.timers import SlaTimer, list_timers
from rampart.core.auth import Reader
from rampart.core.deps import Conn

router = APIRouter(tags=["sla"])


@router.get("/sla-timers", summary="List SLA timers, soonest due first")
async def get_sla_timers(
    conn: Conn,
    _who: Reader,
    subject_id: UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[SlaTimer]:
    """SLA timers, optionally of one event, approval, phase or task."""
    return await list_timers(conn=conn, subject_id=subject_id, limit=limit)
