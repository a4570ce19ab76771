"""HTTP routes of events: submit, list, read, change, notes, artifacts and workbooks."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response

from rampart.core.auth import Principal, Role, require_roles
from rampart.core.problems import Problem
from rampart.ingest import service, workbook
from rampart.ingest.models import (
    EventAccepted,
    EventCreate,
    EventDetail,
    EventPage,
    EventUpdate,
    NoteCreate,
    NotePublic,
    PhasePublic,
    Severity,
    Status,
    TaskComplete,
    TaskCreate,
    WorkbookApply,
)
from rampart.ingest.normalized import NormalizedEvent, clean_json, make_artifact
from rampart.ingest.state import state_of
from rampart.ingest.store import Submission
from rampart.ingest.writer_errors import UNAVAILABLE, unavailable

router = APIRouter(tags=["events"])

Writer = Annotated[Principal, Depends(require_roles(Role.ANALYST, Role.INGEST))]
Reader = Annotated[Principal, Depends(require_roles(Role.ANALYST, Role.SERVICE))]
Analyst = Annotated[Principal, Depends(require_roles(Role.ANALYST))]


def _actor(who: Principal) -> str:
    return who.subject or who.name


@router.post("/events", status_code=202, summary="Submit an event as Rampart JSON")
async def post_event(
    request: Request, response: Response, body: EventCreate, _who: Writer
) -> EventAccepted:
    """Store an event; a resend with the same source reference returns the same id."""
    state = state_of(request.state.resources)
    artifacts = [make_artifact(a.name, a.cef) for a in body.artifacts]
    event = NormalizedEvent(
        name=body.name,
        source=body.source,
        source_ref=body.source_ref,
        severity=body.severity,
        occurred_at=body.occurred_at,
        labels=body.labels,
        data=clean_json(body.data),
        artifacts=[a for a in artifacts if a is not None],
    )
    submission = Submission(events=[event], sla_minutes=state.settings.sla_for())
    try:
        stored = (await state.writer.write(submission))[0]
    except UNAVAILABLE:
        raise unavailable() from None
    response.headers["Location"] = f"/api/v1/events/{stored.id}"
    return EventAccepted(id=stored.id, created=stored.created)


@router.get("/events", summary="List events, newest first, filtered, a page at a time")
async def list_events(
    request: Request,
    _who: Reader,
    status: Annotated[list[Status] | None, Query()] = None,
    severity: Annotated[list[Severity] | None, Query()] = None,
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
    try:
        async with request.state.pool.acquire() as conn:
            items, next_cursor = await service.list_page(
                conn=conn, where=where, limit=limit, cursor=cursor
            )
    except ValueError as exc:
        raise Problem(400, f"cursor: {exc}", field="cursor") from None
    return EventPage(items=items, next_cursor=next_cursor)


@router.get("/events/{event_id}", summary="Get one event with artifacts, notes and workbook")
async def get_event(request: Request, event_id: UUID, _who: Reader) -> EventDetail:
    """One event by id."""
    async with request.state.pool.acquire() as conn:
        event = await service.get_detail(conn=conn, event_id=event_id)
    if event is None:
        raise Problem(404, f"no event {event_id}")
    return event


async def _change(
    request: Request, event_id: UUID, change: service.Change, who: Principal
) -> service.Applied:
    state = state_of(request.state.resources)
    try:
        async with request.state.pool.acquire() as conn, conn.transaction():
            return await service.apply_change(
                conn=conn,
                event_id=event_id,
                change=change,
                actor=_actor(who),
                sla_minutes=state.settings.sla_for(),
            )
    except service.ChangeError as exc:
        raise Problem(exc.status, str(exc), field=exc.field) from None


async def _detail(request: Request, event_id: UUID) -> EventDetail:
    async with request.state.pool.acquire() as conn:
        event = await service.get_detail(conn=conn, event_id=event_id)
    if event is None:
        raise Problem(404, f"no event {event_id}")
    return event


@router.patch("/events/{event_id}", summary="Change status, severity, owner or labels")
async def patch_event(
    request: Request, event_id: UUID, body: EventUpdate, who: Analyst
) -> EventDetail:
    """Change an event; status moves new → open → closed, and closing needs a resolution."""
    given = body.model_dump(exclude_unset=True)
    change = service.Change(
        status=body.status,
        resolution=body.resolution,
        severity=body.severity,
        owner=body.owner,
        set_owner="owner" in given,
        labels=body.labels,
        add_labels=body.add_labels,
        remove_labels=body.remove_labels,
    )
    await _change(request, event_id, change, who)
    return await _detail(request, event_id)


@router.post("/events/{event_id}/notes", status_code=201, summary="Add a note")
async def post_note(request: Request, event_id: UUID, body: NoteCreate, who: Analyst) -> NotePublic:
    """Add a note to an event."""
    applied = await _change(request, event_id, service.Change(note=body.text), who)
    detail = await _detail(request, event_id)
    return next(n for n in detail.notes if n.id == applied.note_id)


@router.post("/events/{event_id}/artifacts", status_code=201, summary="Add artifacts")
async def post_artifacts(
    request: Request, event_id: UUID, body: list[dict[str, Any]], who: Analyst
) -> dict[str, int]:
    """Add artifacts (``{"name": ..., "cef": {...}}`` each); identical ones are merged."""
    from rampart.ingest.models import ArtifactCreate

    if len(body) > 100:
        raise Problem(422, "body: at most 100 artifacts at once", field="body")
    artifacts = []
    for index, item in enumerate(body):
        try:
            artifact = ArtifactCreate.model_validate(item)
        except ValueError as exc:
            raise Problem(422, f"body.{index}: {exc}", field=f"body.{index}") from None
        artifacts.append((artifact.name, artifact.cef))
    applied = await _change(request, event_id, service.Change(artifacts=artifacts), who)
    return {"added": int(applied.changes.get("artifacts_added", 0))}


@router.post("/events/{event_id}/workbook", status_code=201, summary="Add workbook phases")
async def post_workbook(
    request: Request, event_id: UUID, body: WorkbookApply, who: Analyst
) -> list[PhasePublic]:
    """Add a template's phases and tasks, or the phases given, to an event's workbook."""
    phases = list(workbook.TEMPLATES[body.template]) if body.template else body.phases
    await _change(request, event_id, service.Change(phases=phases, phase_owner=body.owner), who)
    return (await _detail(request, event_id)).workbook


@router.post("/events/{event_id}/tasks", status_code=201, summary="Add a workbook task")
async def post_task(
    request: Request, event_id: UUID, body: TaskCreate, who: Analyst
) -> list[PhasePublic]:
    """Add a task; its phase is made when the event has none of that name."""
    await _change(request, event_id, service.Change(add_task=body), who)
    return (await _detail(request, event_id)).workbook


@router.post(
    "/events/{event_id}/tasks/{task_id}/complete", summary="Complete a workbook task with a note"
)
async def complete_task(
    request: Request, event_id: UUID, task_id: UUID, body: TaskComplete, who: Analyst
) -> list[PhasePublic]:
    """Mark a task done; completing it again changes nothing."""
    change = service.Change(complete_task=(task_id, None, body.note))
    await _change(request, event_id, change, who)
    return (await _detail(request, event_id)).workbook
