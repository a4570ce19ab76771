"""HTTP routes of events: submit, list, read, change, notes and artifacts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Response

from rampart.core.auth import Analyst, Ingester, Principal, Reader
from rampart.core.deps import Conn
from rampart.core.errors import FieldError, NotFoundError
from rampart.core.vocabulary import EventStatusName, SeverityName
from rampart.ingest.events import service
from rampart.ingest.events.models import (
    ArtifactCreate,
    EventAccepted,
    EventCreate,
    EventDetail,
    EventPage,
    EventUpdate,
    NoteCreate,
    NotePublic,
)
from rampart.ingest.events.normalized import NormalizedEvent, clean_json, make_artifact
from rampart.ingest.events.store import Submission
from rampart.ingest.events.unavailable import UNAVAILABLE, unavailable
from rampart.ingest.state import IngestDep, IngestState

router = APIRouter(tags=["events"])

MAX_ARTIFACTS_AT_ONCE = 100


def actor(who: Principal) -> str:
    """The name a change is recorded under: the token's subject, else its name."""
    return who.subject or who.name


async def change(
    *, conn: Conn, ingest: IngestState, event_id: UUID, change: service.Change, who: Principal
) -> service.Applied:
    """Apply an analyst's change to one event in one transaction."""
    async with conn.transaction():
        return await service.apply_change(
            conn=conn,
            event_id=event_id,
            change=change,
            actor=actor(who),
            sla_minutes=ingest.settings.sla_for(),
            publish=ingest.publish,
        )


async def detail(*, conn: Conn, event_id: UUID) -> EventDetail:
    """One event with its parts; 404 when there is none."""
    event = await service.get_detail(conn=conn, event_id=event_id)
    if event is None:
        raise NotFoundError(f"no event {event_id}")
    return event


def api_source(who: Principal, source: str) -> str:
    """The source an API-posted event is recorded under: bound to the token that posted it.

    ``api:<token id>:`` can never be a configured source's name (those have no colon) nor
    another token's, so a posted event never merges into, overwrites or pre-empts an event
    of a SIEM or of another caller: resends merge only when the same token sends them.
    """
    return f"api:{who.token_id}:{source}"


@router.post("/events", status_code=202, summary="Submit an event as Rampart JSON")
async def post_event(
    response: Response, body: EventCreate, ingest: IngestDep, who: Ingester
) -> EventAccepted:
    """Store an event; a resend by the same token with the same reference returns the same id."""
    artifacts = [make_artifact(a.name, a.cef) for a in body.artifacts]
    event = NormalizedEvent(
        name=body.name,
        source=api_source(who, body.source),
        source_ref=body.source_ref,
        severity=body.severity,
        occurred_at=body.occurred_at,
        labels=body.labels,
        data=clean_json(body.data),
        artifacts=[a for a in artifacts if a is not None],
    )
    submission = Submission(events=[event], sla_minutes=ingest.settings.sla_for())
    try:
        stored = (await ingest.writer.write(submission))[0]
    except UNAVAILABLE:
        raise unavailable() from None
    response.headers["Location"] = f"/api/v1/events/{stored.id}"
    return EventAccepted(id=stored.id, created=stored.created)


@router.get("/events", summary="List events, newest first, filtered, a page at a time")
async def list_events(
    conn: Conn,
    _who: Reader,
    status: Annotated[list[EventStatusName] | None, Query()] = None,
    severity: Annotated[list[SeverityName] | None, Query()] = None,
    label: Annotated[list[str] | None, Query(max_length=50)] = None,
    source: Annotated[str | None, Query(max_length=200)] = None,
    owner: Annotated[str | None, Query(max_length=200)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    q: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> EventPage:
    """Events matching every filter given; ``q`` searches names, references and artifacts."""
    where = service.EventFilter(
        status=list(status) if status else None,
        severity=list(severity) if severity else None,
        labels=label,
        source=source,
        owner=owner,
        since=since,
        until=until,
        text=q,
    )
    items, next_cursor = await service.list_page(conn=conn, where=where, limit=limit, cursor=cursor)
    return EventPage(items=items, next_cursor=next_cursor)


@router.get("/events/{event_id}", summary="Get one event with artifacts, notes and workbook")
async def get_event(event_id: UUID, conn: Conn, _who: Reader) -> EventDetail:
    """One event by id."""
    return await detail(conn=conn, event_id=event_id)


@router.patch("/events/{event_id}", summary="Change status, severity, owner or labels")
async def patch_event(
    event_id: UUID, body: EventUpdate, conn: Conn, ingest: IngestDep, who: Analyst
) -> EventDetail:
    """Change an event; status moves new → open → closed, and closing needs a resolution."""
    given = body.model_dump(exclude_unset=True)
    asked = service.Change(
        status=body.status,
        resolution=body.resolution,
        severity=body.severity,
        owner=body.owner,
        set_owner="owner" in given,
        labels=body.labels,
        add_labels=body.add_labels,
        remove_labels=body.remove_labels,
    )
    await change(conn=conn, ingest=ingest, event_id=event_id, change=asked, who=who)
    return await detail(conn=conn, event_id=event_id)


@router.post("/events/{event_id}/notes", status_code=201, summary="Add a note")
async def post_note(
    event_id: UUID, body: NoteCreate, conn: Conn, ingest: IngestDep, who: Analyst
) -> NotePublic:
    """Add a note to an event."""
    asked = service.Change(note=body.text)
    applied = await change(conn=conn, ingest=ingest, event_id=event_id, change=asked, who=who)
    notes = (await detail(conn=conn, event_id=event_id)).notes
    return next(n for n in notes if n.id == applied.note_id)


@router.post("/events/{event_id}/artifacts", status_code=201, summary="Add artifacts")
async def post_artifacts(
    event_id: UUID, body: list[dict[str, Any]], conn: Conn, ingest: IngestDep, who: Analyst
) -> dict[str, int]:
    """Add artifacts (``{"name": ..., "cef": {...}}`` each); identical ones are merged."""
    if len(body) > MAX_ARTIFACTS_AT_ONCE:
        raise FieldError("body", f"at most {MAX_ARTIFACTS_AT_ONCE} artifacts at once")
    artifacts = []
    for index, item in enumerate(body):
        try:
            artifact = ArtifactCreate.model_validate(item)
        except ValueError as exc:
            raise FieldError(f"body.{index}", str(exc)) from None
        artifacts.append((artifact.name, artifact.cef))
    asked = service.Change(artifacts=artifacts)
    applied = await change(conn=conn, ingest=ingest, event_id=event_id, change=asked, who=who)
    return {"added": int(applied.changes.get("artifacts_added", 0))}
