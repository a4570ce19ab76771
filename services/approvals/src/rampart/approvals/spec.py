"""The approvals service as the platform runs it."""

from __future__ import annotations

from functools import partial

from rampart.approvals import reports, service, sla_owners, timers
from rampart.approvals.clock import timer_loop
from rampart.approvals.notify import page as notify_page
from rampart.approvals.notify import worker as notify_worker
from rampart.approvals.notify.settings import NotifySettings
from rampart.approvals.state import ApprovalsState, state_factory
from rampart.approvals.views import router
from rampart.core.clock import Clock
from rampart.core.runtime import ServiceSpec


def build_spec(
    *,
    clock: Clock | None = None,
    report_interval_s: float = 30.0,
    notify: NotifySettings | None = None,
) -> ServiceSpec[ApprovalsState]:
    """The service's spec; ``clock`` replaces the system clock, ``notify`` the settings of
    ``RAMPART_APPROVALS_*`` (where e-mail goes, how links are signed)."""
    return ServiceSpec(
        name="approvals",
        schema=timers.SCHEMA,
        migrations_package="rampart.approvals",
        state=state_factory(clock, notify),
        routers=(router, notify_page.router),
        queues=(timers.sla_queue, service.requests),
        workers=(
            timer_loop,
            sla_owners.owner_loop,
            partial(reports.report_gauges, interval_s=report_interval_s),
            notify_worker.delivery_loop,
        ),
    )


SPEC = build_spec()
