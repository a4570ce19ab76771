"""The approvals service as the platform runs it."""

from __future__ import annotations

from typing import Any

from rampart.approvals import timers
from rampart.approvals.views import router
from rampart.core.bus import Delivery
from rampart.core.messages import EventClosed, EventIngested, TaskCompleted, TaskCreated
from rampart.core.runtime import Consumer, ServiceSpec, transactional


async def _on_event_or_task(conn: Any, delivery: Delivery) -> None:
    message = delivery.message
    if isinstance(message, EventIngested) and message.due_at is not None:
        await timers.start_timer(
            conn=conn,
            subject_kind="event",
            subject_id=message.event_id,
            event_id=message.event_id,
            due_at=message.due_at,
        )
    elif isinstance(message, EventClosed):
        await timers.cancel_timer(conn=conn, subject_kind="event", subject_id=message.event_id)
    elif isinstance(message, TaskCreated) and message.due_at is not None:
        await timers.start_timer(
            conn=conn,
            subject_kind="task",
            subject_id=message.task_id,
            event_id=message.event_id,
            due_at=message.due_at,
        )
    elif isinstance(message, TaskCompleted):
        await timers.cancel_timer(conn=conn, subject_kind="task", subject_id=message.task_id)


SPEC = ServiceSpec(
    name="approvals",
    schema=timers.SCHEMA,
    migrations_package="rampart.approvals",
    routers=(router,),
    consumers=(
        Consumer(
            queue="approvals.sla",
            patterns=("event.ingested", "event.closed", "task.created", "task.completed"),
            handler=transactional(
                schema=timers.SCHEMA, consumer="approvals.sla", work=_on_event_or_task
            ),
        ),
    ),
    workers=(timers.timer_loop,),
)
