"""What the approvals service keeps while it runs."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from rampart.approvals.directory import HttpOwnerDirectory, OwnerDirectory
from rampart.approvals.gauges import ReportGauges
from rampart.approvals.notify.notifier import Notifier, open_notifier
from rampart.approvals.notify.settings import NotifySettings
from rampart.core.clock import Clock, SystemClock
from rampart.core.deps import service_state
from rampart.core.registry_client import open_registry_client
from rampart.core.runtime import Resources, StateFactory
from rampart.core.store import Pool


@dataclass(frozen=True, slots=True)
class ApprovalsState:
    """The approvals service's running objects."""

    pool: Pool
    owners: OwnerDirectory
    clock: Clock
    gauges: ReportGauges
    notifier: Notifier


def state_factory(
    clock: Clock | None = None, notify: NotifySettings | None = None
) -> StateFactory[ApprovalsState]:
    """The service's state factory; ``clock`` replaces the system clock (tests travel in time),
    ``notify`` the notification settings read from the environment."""

    @contextlib.asynccontextmanager
    async def approvals_state(resources: Resources) -> AsyncIterator[ApprovalsState]:
        async with open_registry_client(resources.settings) as registry:
            owners = HttpOwnerDirectory(registry)
            gauges = ReportGauges(resources.metrics)
            async with open_notifier(resources, notify) as notifier:
                yield ApprovalsState(
                    resources.pool, owners, clock or SystemClock(), gauges, notifier
                )

    return approvals_state


Approvals = Annotated[ApprovalsState, Depends(service_state(ApprovalsState))]
