"""Applying ``event.change.requested`` from playbooks and other services, once per request key."""

from __future__ import annotations

from typing import Any

from rampart.core.bus import Delivery, Handler
from rampart.core.errors import PermanentError
from rampart.core.messages import EventChangeRequested
from rampart.core.runtime import Resources, transactional
from rampart.ingest import service
from rampart.ingest.models import TaskCreate
from rampart.ingest.settings import IngestSettings

QUEUE = "ingest.changes"


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
        raise PermanentError("complete_task names neither a task_id nor a name")
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


def change_handler(resources: Resources) -> Handler:
    """The ``ingest.changes`` handler: one transaction per message, one apply per request key."""
    sla = IngestSettings().sla_for()

    async def work(conn: Any, delivery: Delivery) -> None:
        message = delivery.message_as(EventChangeRequested)
        first = await conn.fetchval(
            f"INSERT INTO {service.SCHEMA}.change_requests (request_key, event_id) "
            "VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING true",
            message.request_key,
            message.event_id,
        )
        if not first:
            return
        try:
            await service.apply_change(
                conn=conn,
                event_id=message.event_id,
                change=change_of(message),
                actor=message.requested_by,
                sla_minutes=sla,
                cause=delivery.envelope,
            )
        except service.ChangeError as exc:
            # the transaction rolls back, so a corrected resend with the same key still applies
            raise PermanentError(str(exc)) from None

    return transactional(schema=service.SCHEMA, consumer=QUEUE, work=work)(resources)
