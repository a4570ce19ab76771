"""The action broker as the platform runs it."""

from __future__ import annotations

from rampart.broker import service
from rampart.broker.views import router
from rampart.core.runtime import ServiceSpec, platform_only

SPEC = ServiceSpec(
    name="action-broker",
    schema=service.SCHEMA,
    migrations_package="rampart.broker",
    state=platform_only,
    routers=(router,),
    queues=(service.requests,),
)
