"""The action broker as the platform runs it: requests, approvals, runners and reconciler."""

from __future__ import annotations

from collections.abc import Iterable

from rampart.broker.reconciler import reconciler
from rampart.broker.requests import requests
from rampart.broker.runner import runner_queue
from rampart.broker.state import SCHEMA, BrokerState, broker_state
from rampart.broker.views import router
from rampart.core.connectors import discover_connectors
from rampart.core.runtime import ServiceSpec


def broker_spec(connectors: Iterable[str] | None = None) -> ServiceSpec[BrokerState]:
    """The broker with a runner for each of ``connectors`` (default: every installed one)."""
    names = (
        sorted(connectors) if connectors is not None else [c.name for c in discover_connectors()]
    )
    return ServiceSpec(
        name="action-broker",
        schema=SCHEMA,
        migrations_package="rampart.broker",
        state=broker_state,
        routers=(router,),
        queues=(requests, *(runner_queue(name) for name in names)),
        workers=(reconciler,),
    )


def runner_spec(connectors: Iterable[str] | None = None) -> ServiceSpec[BrokerState]:
    """Connector runners alone (``rampart serve connector-runner --connectors ssh,noop``):
    the broker's store and reconciler, and a runner for each of ``connectors``, scaled apart
    from the broker that resolves and gates requests."""
    installed = [c.name for c in discover_connectors()]
    names = sorted(connectors) if connectors is not None else installed
    unknown = sorted(set(names) - set(installed))
    if unknown:
        raise ValueError(
            f"no connector {', '.join(map(repr, unknown))} is installed "
            f"(installed: {', '.join(installed) or 'none'})"
        )
    return ServiceSpec(
        name="connector-runner",
        schema=SCHEMA,
        migrations_package="rampart.broker",
        state=broker_state,
        queues=tuple(runner_queue(name) for name in names),
        workers=(reconciler,),
    )


SPEC = broker_spec()
