"""The ingest service as the platform runs it."""

from __future__ import annotations

from typing import Any

from rampart.core.bus import Delivery
from rampart.core.messages import SlaBreached
from rampart.core.runtime import Consumer, ServiceSpec, transactional
from rampart.ingest import service, workbook
from rampart.ingest.changes import QUEUE as CHANGES_QUEUE
from rampart.ingest.changes import change_handler
from rampart.ingest.maintenance import pruning
from rampart.ingest.qradar_poller import qradar_pollers
from rampart.ingest.state import ingest_state
from rampart.ingest.syslog_listener import syslog_listeners
from rampart.ingest.views import router
from rampart.ingest.views_sources import router as sources_router
from rampart.ingest.views_webhook import router as webhook_router


async def _on_sla_breached(conn: Any, delivery: Delivery) -> None:
    breach = delivery.message_as(SlaBreached)
    if breach.subject_kind == "event":
        await service.mark_sla_breached(
            conn=conn, event_id=breach.subject_id, breached_at=breach.breached_at
        )
    elif breach.subject_kind in ("phase", "task"):
        await workbook.mark_breached(
            conn, kind=breach.subject_kind, subject_id=breach.subject_id, at=breach.breached_at
        )


SPEC = ServiceSpec(
    name="ingest",
    schema=service.SCHEMA,
    migrations_package="rampart.ingest",
    # the webhook first: it takes the most requests, and routes are matched in order
    routers=(webhook_router, router, sources_router),
    consumers=(
        Consumer(
            queue="ingest.sla",
            patterns=("sla.breached",),
            handler=transactional(
                schema=service.SCHEMA, consumer="ingest.sla", work=_on_sla_breached
            ),
        ),
        Consumer(queue=CHANGES_QUEUE, patterns=("event.change.requested",), handler=change_handler),
    ),
    # the state comes first: the listeners and pollers write through its writer
    workers=(ingest_state, syslog_listeners, qradar_pollers, pruning),
)
