"""The approvals service as the platform runs it."""

from __future__ import annotations

from rampart.approvals import timers
from rampart.approvals.views import router
from rampart.core.runtime import ServiceSpec, platform_only

SPEC = ServiceSpec(
    name="approvals",
    schema=timers.SCHEMA,
    migrations_package="rampart.approvals",
    state=platform_only,
    routers=(router,),
    queues=(timers.sla_queue,),
    workers=(timers.timer_loop,),
)
