"""What the ingest service keeps while it runs, made once per running service.

The platform enters ``ingest_state`` before the queues and workers start and leaves it after
they stopped, so the writer drains only when nothing can hand it events any more.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from rampart.core.crypto import Keyring
from rampart.core.deps import service_state
from rampart.core.metrics import Metrics
from rampart.core.outbox import Publisher
from rampart.core.runtime import Resources
from rampart.core.store import Pool
from rampart.ingest import SCHEMA, SOURCE
from rampart.ingest.events.writer import EventWriter
from rampart.ingest.settings import IngestSettings
from rampart.ingest.sources.config import SourceCache


@dataclass(frozen=True, slots=True)
class IngestState:
    """The ingest service's running objects: its settings, the event writer, the source cache."""

    settings: IngestSettings
    pool: Pool
    keyring: Keyring
    metrics: Metrics
    publish: Publisher
    writer: EventWriter
    sources: SourceCache


@contextlib.asynccontextmanager
async def ingest_state(resources: Resources) -> AsyncIterator[IngestState]:
    """Read the settings and start the writer; drain the writer when the service stops."""
    settings = IngestSettings()
    publish = Publisher(schema=SCHEMA, source=SOURCE)
    writer = EventWriter(
        resources.pool,
        publish=publish,
        max_events=settings.group_commit_events,
        flushers=settings.group_commit_writers,
    )
    await writer.start()
    try:
        yield IngestState(
            settings=settings,
            pool=resources.pool,
            keyring=resources.keyring,
            metrics=resources.metrics,
            publish=publish,
            writer=writer,
            sources=SourceCache(settings.source_cache_s),
        )
    finally:
        await writer.stop()


ingest_of = service_state(IngestState)
"""The running ingest state of a request, for the one plain Starlette route (the webhook)."""

IngestDep = Annotated[IngestState, Depends(ingest_of)]
"""The running ingest state, for routes: ``async def route(ingest: IngestDep) -> ...``."""
