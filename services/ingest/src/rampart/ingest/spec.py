"""The ingest service as the platform runs it."""

from __future__ import annotations

from rampart.core.runtime import ServiceSpec
from rampart.ingest import SCHEMA
from rampart.ingest.events.changes import changes_queue
from rampart.ingest.events.sla import sla_queue
from rampart.ingest.events.views import router as events_router
from rampart.ingest.listeners.qradar import qradar_pollers
from rampart.ingest.listeners.syslog import syslog_listeners
from rampart.ingest.sources.views import router as sources_router
from rampart.ingest.state import IngestState, ingest_state
from rampart.ingest.webhook.pruning import pruning
from rampart.ingest.webhook.views import router as webhook_router
from rampart.ingest.workbook.views import router as workbook_router

SPEC: ServiceSpec[IngestState] = ServiceSpec(
    name="ingest",
    schema=SCHEMA,
    migrations_package="rampart.ingest",
    state=ingest_state,
    # the webhook first: it takes the most requests, and routes are matched in order
    routers=(webhook_router, events_router, workbook_router, sources_router),
    queues=(sla_queue, changes_queue),
    workers=(syslog_listeners, qradar_pollers, pruning),
)
