"""The playbook engine as the platform runs it."""

from __future__ import annotations

from typing import Any

from rampart.core.bus import Delivery
from rampart.core.messages import EventIngested
from rampart.core.runtime import Consumer, ServiceSpec, transactional
from rampart.engine import service
from rampart.engine.views import router


async def _on_event_ingested(conn: Any, delivery: Delivery) -> None:
    await service.record_event(conn=conn, event=delivery.message_as(EventIngested))


SPEC = ServiceSpec(
    name="playbook-engine",
    schema=service.SCHEMA,
    migrations_package="rampart.engine",
    routers=(router,),
    consumers=(
        Consumer(
            queue="engine.triggers",
            patterns=("event.ingested",),
            handler=transactional(
                schema=service.SCHEMA, consumer="engine.triggers", work=_on_event_ingested
            ),
        ),
    ),
)
