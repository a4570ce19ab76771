"""HTTP routes of the ingest service."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response

from rampart.core.auth import Principal, Role, require_roles
from rampart.core.problems import Problem
from rampart.ingest import service
from rampart.ingest.models import EventAccepted, EventCreate, EventPublic

router = APIRouter(tags=["events"])

Writer = Annotated[Principal, Depends(require_roles(Role.ANALYST, Role.INGEST))]
Reader = Annotated[Principal, Depends(require_roles(Role.ANALYST, Role.SERVICE))]


@router.post("/events", status_code=202, summary="Submit an event as Rampart JSON")
async def post_event(
    request: Request, response: Response, body: EventCreate, _who: Writer
) -> EventAccepted:
    """Store an event; a resend with the same source reference returns the same id."""
    async with request.state.pool.acquire() as conn:
        event_id, created = await service.create(conn=conn, event=body)
    response.headers["Location"] = f"/api/v1/events/{event_id}"
    return EventAccepted(id=event_id, created=created)


@router.get("/events", summary="List events, newest first")
async def list_events(
    request: Request, _who: Reader, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> list[EventPublic]:
    """The newest events."""
    async with request.state.pool.acquire() as conn:
        return await service.list_recent(conn=conn, limit=limit)


@router.get("/events/{event_id}", summary="Get one event")
async def get_event(request: Request, event_id: UUID, _who: Reader) -> EventPublic:
    """One event by id."""
    async with request.state.pool.acquire() as conn:
        event = await service.get(conn=conn, event_id=event_id)
    if event is None:
        raise Problem(404, f"no event {event_id}")
    return event
