"""What a service declares, and the lifespan that gives it a database, a bus and its workers."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypedDict, TypeVar

from fastapi import APIRouter

from rampart.core.auth import AUTH_SCHEMA
from rampart.core.auth._deps import TokenCache, new_token_cache
from rampart.core.bus import Bus, Delivery, Handler, Topology
from rampart.core.consumers import HandlerContext, Queue
from rampart.core.crypto import Keyring
from rampart.core.inbox import check_retention, inbox_pruner
from rampart.core.logs import correlation_id
from rampart.core.metrics import Metrics
from rampart.core.outbox import OutboxRelay
from rampart.core.settings import Settings
from rampart.core.store import (
    Notifications,
    Pool,
    apply_migrations,
    connect_pool,
    load_migrations,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Resources:
    """What a running service's code may use; no module-level globals."""

    settings: Settings
    pool: Pool
    bus: Bus
    keyring: Keyring
    metrics: Metrics
    notifications: Notifications
    """The process's one LISTEN connection, outside the pool."""


S = TypeVar("S")

StateFactory = Callable[[Resources], contextlib.AbstractAsyncContextManager[S]]
"""Makes a service's running state from the platform's resources, and tears it down after."""

Worker = Callable[[S], contextlib.AbstractAsyncContextManager[None]]
"""Background work of a service, started after its state and consumers, given that state."""


@contextlib.asynccontextmanager
async def platform_only(resources: Resources) -> AsyncIterator[Resources]:
    """The state of a service that keeps nothing of its own: the platform's resources."""
    yield resources


_PLATFORM_ONLY: StateFactory[Any] = platform_only


@dataclass(frozen=True, slots=True)
class ServiceSpec(Generic[S]):
    """Everything the platform needs to run one service, alone or embedded with others.

    The platform enters ``state`` before any consumer or worker starts, passes the state to
    handlers (by annotation), to workers (as their argument) and to routes (through
    ``rampart.core.deps.service_state``), and leaves it after they have all stopped.
    """

    name: str
    schema: str
    migrations_package: str
    state: StateFactory[S] = _PLATFORM_ONLY
    routers: Sequence[APIRouter] = ()
    # pages for people (HTML), served from the root rather than under /api/v1
    pages: Sequence[APIRouter] = ()
    queues: Sequence[Queue] = ()
    workers: Sequence[Worker[S]] = field(default_factory=tuple)

    @property
    def queue_names(self) -> tuple[str, ...]:
        """The names of the queues this service consumes."""
        return tuple(q.name for q in self.queues)


class LifespanState(TypedDict):
    """What every request of a Rampart app finds in ``request.state``."""

    settings: Settings
    pool: Pool
    bus: Bus
    keyring: Keyring
    metrics: Metrics
    resources: Resources
    token_cache: TokenCache
    specs: tuple[ServiceSpec[Any], ...]
    services: dict[type[Any], Any]


def make_bus(settings: Settings) -> Bus:
    """RabbitMQ when ``RAMPART_AMQP_URL`` is set, otherwise the in-process bus."""
    topology = Topology(settings.bus_namespace)
    bus: Bus
    if settings.amqp_url is not None:
        from rampart.core.bus.rabbitmq import RabbitBus

        bus = RabbitBus(
            settings.amqp_url.get_secret_value(),
            topology=topology,
            delivery_limit=settings.bus_delivery_limit,
            retry_delay_ms=settings.bus_retry_delay_ms,
            prefetch=settings.bus_prefetch,
            publish_timeout_s=settings.publish_timeout_s,
        )
    else:
        from rampart.core.bus.memory import MemoryBus

        bus = MemoryBus(
            topology=topology,
            delivery_limit=settings.bus_delivery_limit,
            retry_delay_ms=settings.bus_retry_delay_ms,
            prefetch=settings.bus_prefetch,
        )
    bus.max_message_bytes = settings.bus_max_message_bytes
    return bus


def _observed(handler: Handler, queue: str, metrics: Metrics) -> Handler:
    async def handle(delivery: Delivery) -> None:
        token = correlation_id.set(delivery.envelope.correlationid or delivery.envelope.id)
        try:
            await handler(delivery)
        except BaseException:
            metrics.handled.labels(queue, "failed").inc()
            raise
        finally:
            correlation_id.reset(token)
        metrics.handled.labels(queue, "ok").inc()

    return handle


async def prepare_database(pool: Pool, specs: Sequence[ServiceSpec[Any]]) -> None:
    """Apply the platform's and each service's migrations."""
    await apply_migrations(
        pool, schema=AUTH_SCHEMA, migrations=load_migrations("rampart.core.auth")
    )
    platform = load_migrations("rampart.core")
    for spec in specs:
        await apply_migrations(pool, schema=spec.schema, migrations=platform, component="platform")
        await apply_migrations(
            pool, schema=spec.schema, migrations=load_migrations(spec.migrations_package)
        )


@contextlib.asynccontextmanager
async def run_services(
    settings: Settings,
    specs: Sequence[ServiceSpec[Any]],
    *,
    bus: Bus | None = None,
    metrics: Metrics | None = None,
) -> AsyncIterator[LifespanState]:
    """Open the pool and bus, migrate, start relays, then each service's state, consumers and
    workers; yield the app's lifespan state."""
    if settings.database_url is None:
        raise RuntimeError("RAMPART_DATABASE_URL is not set")
    metrics = metrics or Metrics()
    check_retention(settings)
    keyring = Keyring.from_settings(settings)
    pool = await connect_pool(
        settings.database_url.get_secret_value(),
        min_size=settings.db_pool_min,
        max_size=settings.db_pool_max,
    )
    bus = bus or make_bus(settings)
    notifications = Notifications(settings.database_url.get_secret_value())
    services: dict[type[Any], Any] = {}
    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(pool.close)
        await prepare_database(pool, specs)
        await notifications.start()
        stack.push_async_callback(notifications.close)
        await bus.start()
        stack.push_async_callback(bus.close)
        resources = Resources(settings, pool, bus, keyring, metrics, notifications)
        for spec in specs:
            relay = OutboxRelay(
                pool=pool,
                notifications=notifications,
                bus=bus,
                schema=spec.schema,
                batch_size=settings.outbox_batch,
                on_published=metrics.relayed.labels(spec.schema).inc,
                on_refused=metrics.refused.labels(spec.schema).inc,
            )
            await relay.start()
            stack.push_async_callback(relay.stop)
            await stack.enter_async_context(inbox_pruner(pool, spec.schema, settings))
        for spec in specs:
            state = await stack.enter_async_context(spec.state(resources))
            if type(state) in services and type(state) is not Resources:
                raise RuntimeError(f"two services keep a state of type {type(state).__name__}")
            services.setdefault(type(state), state)
            context = HandlerContext(spec.schema, pool, resources, state)
            for queue in spec.queues:
                handler = _observed(queue.bind(context), queue.name, metrics)
                await bus.subscribe(queue.name, queue.patterns, handler, prefetch=queue.prefetch)
            for worker in spec.workers:
                await stack.enter_async_context(worker(state))
        # unwound first: handlers finish before any worker or state they use goes away
        stack.push_async_callback(bus.stop_consuming)
        log.info("services started", extra={"services": [s.name for s in specs]})
        yield LifespanState(
            settings=settings,
            pool=pool,
            bus=bus,
            keyring=keyring,
            metrics=metrics,
            resources=resources,
            token_cache=new_token_cache(),
            specs=tuple(specs),
            services=services,
        )
        log.info("services stopping", extra={"services": [s.name for s in specs]})
