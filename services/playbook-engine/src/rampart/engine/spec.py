"""The playbook engine as the platform runs it."""

from __future__ import annotations

from typing import Any

from rampart.core.runtime import Consumer, ServiceSpec
from rampart.engine import triggers
from rampart.engine.config import EngineSettings
from rampart.engine.engine import AssetDirectoryFactory, EngineRuntime, EventSourceFactory
from rampart.engine.versions import SCHEMA
from rampart.engine.views import make_router


def build_spec(
    *,
    config: EngineSettings | None = None,
    events: EventSourceFactory | None = None,
    assets: AssetDirectoryFactory | None = None,
) -> ServiceSpec[Any]:
    """The engine's spec; settings default to ``RAMPART_ENGINE_*`` read when it starts.

    ``events`` and ``assets`` replace the HTTP clients of ingest and the asset registry.
    """
    runtime = EngineRuntime(config=config, events=events, assets=assets)
    return ServiceSpec(
        name="playbook-engine",
        schema=SCHEMA,
        migrations_package="rampart.engine",
        routers=(make_router(runtime),),
        consumers=(
            Consumer(
                queue=triggers.TRIGGERS_QUEUE,
                patterns=("event.ingested", "event.updated"),
                handler=triggers.trigger_handler(runtime),
                prefetch=4,
            ),
            Consumer(
                queue=triggers.RESULTS_QUEUE,
                patterns=("action.completed",),
                handler=triggers.result_handler(runtime),
                prefetch=16,
            ),
        ),
        workers=(runtime.worker,),
    )


SPEC = build_spec()
