"""The playbook engine as the platform runs it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from rampart.core.runtime import ServiceSpec
from rampart.engine.config import SCHEMA, EngineSettings
from rampart.engine.runs import wakeups
from rampart.engine.runs.results import results
from rampart.engine.runs.triggers import triggers
from rampart.engine.state import AssetDirectoryFactory, Engine, EngineFactory, EventSourceFactory
from rampart.engine.views import router


@contextlib.asynccontextmanager
async def folder_sync(engine: Engine) -> AsyncIterator[None]:
    """Keep syncing the playbooks folder (its first sync ran when the engine started)."""
    if engine.folder is None:
        yield
        return
    async with engine.folder.watching(interval_s=engine.config.sync_interval_s):
        yield


def build_spec(
    *,
    config: EngineSettings | None = None,
    events: EventSourceFactory | None = None,
    assets: AssetDirectoryFactory | None = None,
) -> ServiceSpec[Engine]:
    """The engine's spec; settings default to ``RAMPART_ENGINE_*`` read when it starts.

    ``events`` and ``assets`` replace the HTTP clients of ingest and the asset registry.
    """
    return ServiceSpec(
        name="playbook-engine",
        schema=SCHEMA,
        migrations_package="rampart.engine",
        state=EngineFactory(config=config, events=events, assets=assets),
        routers=(router,),
        queues=(triggers, results),
        workers=(folder_sync, wakeups.running),
    )


SPEC = build_spec()
