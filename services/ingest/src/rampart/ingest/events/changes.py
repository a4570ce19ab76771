"""Applying ``event.change.requested`` from playbooks and other services, once per request key."""

from __future__ import annotations

from typing import Any

from rampart.core.consumers import Queue
from rampart.core.deps import Conn
from rampart.core.envelope import Envelope
from rampart.core.errors import FieldError
from rampart.core.messages import EventChangeRequested
from rampart.ingest import SCHEMA
from rampart.ingest.events import service
from rampart.ingest.state import IngestState
from rampart.ingest.workbook.models import TaskCreate

changes_queue = Queue("ingest.changes")


def change_of(message: EventChangeRequested) -> service.Change:
    """The change a request asks for, in the form the analyst API uses too."""
    artifacts: list[tuple[str, dict[str, Any]]] = []
    for item in message.artifacts:
        nested = item.get("cef")
        cef: dict[str, Any] = nested if isinstance(nested, dict) else item
        name = item.get("name") if isinstance(nested, dict) else None
        artifacts.append((name if isinstance(name, str) and name else "artifact", cef))
    task = message.add_task
    done = message.complete_task
    if done is not None and done.task_id is None and not done.name:
        raise FieldError("complete_task", "names neither a task_id nor a name")
    return service.Change(
        status=message.status,
        resolution=message.resolution,
        severity=message.severity,
        owner=message.owner,
        set_owner=message.owner is not None,
        add_labels=list(message.add_labels),
        note=message.note,
        artifacts=artifacts,
        add_task=TaskCreate(
            phase=task.phase, name=task.name, owner=task.owner, sla_minutes=task.sla_minutes
        )
        if task is not None
        else None,
        complete_task=(done.task_id, done.name, done.note) if done is not None else None,
    )


@changes_queue.on(EventChangeRequested)
async def apply_change_request(
    conn: Conn, message: EventChangeRequested, envelope: Envelope, ingest: IngestState
) -> None:
    """Apply a request in the inbox transaction, once per request key.

    A request that cannot apply raises a domain error: the transaction rolls back its key
    with everything else, the message is dead-lettered with the reason, and a corrected
    resend under the same key still applies.
    """
    first = await conn.fetchval(
        f"INSERT INTO {SCHEMA}.change_requests (request_key, event_id) "
        "VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING true",
        message.request_key,
        message.event_id,
    )
    if not first:
        return
    await service.apply_change(
        conn=conn,
        event_id=message.event_id,
        change=change_of(message),
        actor=message.requested_by,
        sla_minutes=ingest.settings.sla_for(),
        publish=ingest.publish,
        cause=envelope,
    )
