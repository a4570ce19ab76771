"""The ingest service as the platform runs it."""

from __future__ import annotations

from typing import Any

from rampart.core.bus import Delivery
from rampart.core.messages import SlaBreached
from rampart.core.runtime import Consumer, ServiceSpec, transactional
from rampart.ingest import service
from rampart.ingest.views import router


async def _on_sla_breached(conn: Any, delivery: Delivery) -> None:
    breach = delivery.message_as(SlaBreached)
    if breach.subject_kind == "event":
        await service.mark_sla_breached(
            conn=conn, event_id=breach.subject_id, breached_at=breach.breached_at
        )


SPEC = ServiceSpec(
    name="ingest",
    schema=service.SCHEMA,
    migrations_package="rampart.ingest",
    routers=(router,),
    consumers=(
        Consumer(
            queue="ingest.sla",
            patterns=("sla.breached",),
            handler=transactional(
                schema=service.SCHEMA, consumer="ingest.sla", work=_on_sla_breached
            ),
        ),
    ),
)
