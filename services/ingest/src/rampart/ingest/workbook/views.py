"""HTTP routes of an event's workbook: add phases or a template, add and complete tasks."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from rampart.core.auth import Analyst
from rampart.core.deps import Conn
from rampart.ingest.events import service
from rampart.ingest.events.views import change, detail
from rampart.ingest.state import IngestDep
from rampart.ingest.workbook.models import PhasePublic, TaskComplete, TaskCreate, WorkbookApply
from rampart.ingest.workbook.templates import TEMPLATES

router = APIRouter(tags=["events"])


@router.post("/events/{event_id}/workbook", status_code=201, summary="Add workbook phases")
async def post_workbook(
    event_id: UUID, body: WorkbookApply, conn: Conn, ingest: IngestDep, who: Analyst
) -> list[PhasePublic]:
    """Add a template's phases and tasks, or the phases given, to an event's workbook."""
    phases = list(TEMPLATES[body.template]) if body.template else body.phases
    asked = service.Change(phases=phases, phase_owner=body.owner)
    await change(conn=conn, ingest=ingest, event_id=event_id, change=asked, who=who)
    return (await detail(conn=conn, event_id=event_id)).workbook


@router.post("/events/{event_id}/tasks", status_code=201, summary="Add a workbook task")
async def post_task(
    event_id: UUID, body: TaskCreate, conn: Conn, ingest: IngestDep, who: Analyst
) -> list[PhasePublic]:
    """Add a task; its phase is made when the event has none of that name."""
    asked = service.Change(add_task=body)
    await change(conn=conn, ingest=ingest, event_id=event_id, change=asked, who=who)
    return (await detail(conn=conn, event_id=event_id)).workbook


@router.post(
    "/events/{event_id}/tasks/{task_id}/complete", summary="Complete a workbook task with a note"
)
async def complete_task(
    event_id: UUID, task_id: UUID, body: TaskComplete, conn: Conn, ingest: IngestDep, who: Analyst
) -> list[PhasePublic]:
    """Mark a task done; completing it again changes nothing."""
    asked = service.Change(complete_task=(task_id, None, body.note))
    await change(conn=conn, ingest=ingest, event_id=event_id, change=asked, who=who)
    return (await detail(conn=conn, event_id=event_id)).workbook
