"""What the approvals service keeps while it runs."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

import httpx
from fastapi import Depends

from rampart.approvals.directory import HttpOwnerDirectory, OwnerDirectory
from rampart.approvals.gauges import ReportGauges
from rampart.approvals.notify.notifier import Notifier, open_notifier
from rampart.core.clock import Clock, SystemClock
from rampart.core.deps import service_state
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


def state_factory(clock: Clock | None = None) -> StateFactory[ApprovalsState]:
    """The service's state factory; ``clock`` replaces the system clock (tests travel in time)."""

    @contextlib.asynccontextmanager
    async def approvals_state(resources: Resources) -> AsyncIterator[ApprovalsState]:
        settings = resources.settings
        token = settings.service_token.get_secret_value() if settings.service_token else None
        async with httpx.AsyncClient(
            base_url=settings.service_url("asset-registry"), timeout=10.0
        ) as client:
            owners = HttpOwnerDirectory(client, token=token)
            gauges = ReportGauges(resources.metrics)
            async with open_notifier(resources) as notifier:
                yield ApprovalsState(
                    resources.pool, owners, clock or SystemClock(), gauges, notifier
                )

    return approvals_state


Approvals = Annotated[ApprovalsState, Depends(service_state(ApprovalsState))]
