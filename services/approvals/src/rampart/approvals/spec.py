"""The approvals service as the platform runs it."""

from __future__ import annotations

from rampart.approvals import clock, service, timers
from rampart.approvals.notify import page as notify_page
from rampart.approvals.notify import worker as notify_worker
from rampart.approvals.state import ApprovalsState, state_factory
from rampart.approvals.views import router
from rampart.core.clock import Clock
from rampart.core.runtime import ServiceSpec


def build_spec(*, clock: Clock | None = None) -> ServiceSpec[ApprovalsState]:
    """The service's spec; ``clock`` replaces the system clock."""
    return ServiceSpec(
        name="approvals",
        schema=timers.SCHEMA,
        migrations_package="rampart.approvals",
        state=state_factory(clock),
        routers=(router, notify_page.router),
        queues=(timers.sla_queue, service.requests),
        workers=(clock_loop, notify_worker.delivery_loop),
    )


clock_loop = clock.timer_loop
SPEC = build_spec()
