"""The action broker as the platform runs it."""

from __future__ import annotations

from typing import Any

from rampart.broker import service
from rampart.broker.views import router
from rampart.core.bus import Delivery
from rampart.core.messages import ActionRequested, ApprovalDecided
from rampart.core.runtime import Consumer, ServiceSpec, transactional


async def _on_message(conn: Any, delivery: Delivery) -> None:
    message = delivery.message
    if isinstance(message, ActionRequested):
        await service.record_request(conn=conn, request=message)
    elif isinstance(message, ApprovalDecided):
        await service.record_decision(conn=conn, decision=message)


SPEC = ServiceSpec(
    name="action-broker",
    schema=service.SCHEMA,
    migrations_package="rampart.broker",
    routers=(router,),
    consumers=(
        Consumer(
            queue="broker.requests",
            patterns=("action.requested", "approval.decided"),
            handler=transactional(
                schema=service.SCHEMA, consumer="broker.requests", work=_on_message
            ),
        ),
    ),
)
