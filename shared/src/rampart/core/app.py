"""The application factory: one FastAPI app for one service, or for all of them embedded."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI

from rampart.core.bus import Bus
from rampart.core.limits import CorrelationId, RequestLimits
from rampart.core.metrics import Metrics, MetricsMiddleware
from rampart.core.platform_routes import platform_router, probes_router
from rampart.core.problems import install_problem_handlers
from rampart.core.runtime import LifespanState, ServiceSpec, run_services
from rampart.core.settings import Settings
from rampart.core.text_fields import refuse_nul

VERSION = "0.1.0"


def create_app(
    specs: Sequence[ServiceSpec[Any]],
    settings: Settings | None = None,
    *,
    bus: Bus | None = None,
    title: str | None = None,
) -> FastAPI:
    """Build the app for ``specs``: their routers, the platform routes and the lifespan."""
    settings = settings or Settings()
    names = ", ".join(s.name for s in specs)
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[LifespanState]:
        async with run_services(settings, specs, bus=bus, metrics=metrics) as state:
            yield state

    app = FastAPI(
        title=title or f"Rampart {names}",
        version=VERSION,
        lifespan=lifespan,
        dependencies=[Depends(refuse_nul)],
        description="Rampart, an open-source programmable security controller. "
        "Every route but /healthz, /readyz and /metrics needs a bearer token.",
    )
    install_problem_handlers(app)
    app.include_router(probes_router)
    app.include_router(platform_router, prefix="/api/v1")
    for spec in specs:
        for router in spec.routers:
            app.include_router(router, prefix="/api/v1")
    for spec in specs:
        for page in spec.pages:
            app.include_router(page, include_in_schema=False)
    app.add_middleware(
        RequestLimits, max_bytes=settings.max_body_bytes, max_depth=settings.max_json_depth
    )
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.add_middleware(CorrelationId)
    return app
