"""What the ingest service keeps while it runs: settings, the event writer, the source cache.

The platform's lifespan state is the same for every service, so this service keeps its own
per-process objects here, keyed by the running ``Resources``, from start to stop.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from rampart.core.runtime import Resources
from rampart.ingest.settings import IngestSettings
from rampart.ingest.sources import SourceCache
from rampart.ingest.writer import EventWriter


@dataclass(frozen=True, slots=True)
class IngestState:
    """The ingest service's own running objects."""

    settings: IngestSettings
    writer: EventWriter
    sources: SourceCache


_RUNNING: dict[int, IngestState] = {}


@contextlib.asynccontextmanager
async def ingest_state(resources: Resources) -> AsyncIterator[None]:
    """A worker: make the state when the service starts, drain the writer when it stops."""
    settings = IngestSettings()
    writer = EventWriter(
        resources.pool,
        max_events=settings.group_commit_events,
        flushers=settings.group_commit_writers,
    )
    await writer.start()
    _RUNNING[id(resources)] = IngestState(settings, writer, SourceCache(settings.source_cache_s))
    try:
        yield
    finally:
        _RUNNING.pop(id(resources), None)
        await writer.stop()


def state_of(resources: Any) -> IngestState:
    """The state of the running service that ``resources`` belong to."""
    try:
        return _RUNNING[id(resources)]
    except KeyError:
        raise RuntimeError("the ingest service is not running") from None
