"""What a service declares, and the lifespan that gives it a database, a bus and its workers."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from fastapi import APIRouter

from rampart.core.auth import AUTH_SCHEMA
from rampart.core.auth._deps import new_token_cache
from rampart.core.bus import Bus, Delivery, Handler, Topology
from rampart.core.crypto import Keyring
from rampart.core.inbox import first_delivery
from rampart.core.logs import correlation_id
from rampart.core.metrics import Metrics
from rampart.core.outbox import OutboxRelay
from rampart.core.settings import Settings
from rampart.core.store import apply_migrations, connect_pool, load_migrations

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Resources:
    """What a running service's code may use; no module-level globals."""

    settings: Settings
    pool: Any
    bus: Bus
    keyring: Keyring
    metrics: Metrics


class HandlerFactory(Protocol):
    """Builds a message handler once the service's resources exist."""

    def __call__(self, resources: Resources) -> Handler: ...


@dataclass(frozen=True, slots=True)
class Consumer:
    """A durable queue a service consumes, the topics bound to it and its handler."""

    queue: str
    patterns: tuple[str, ...]
    handler: HandlerFactory
    prefetch: int | None = None


Work = Callable[[Any, Delivery], Awaitable[None]]


def transactional(*, schema: str, consumer: str, work: Work) -> HandlerFactory:
    """A handler that does ``work`` once per message id, in one transaction with its inbox row.

    The message is acknowledged after the transaction commits; a duplicate delivery finds
    the inbox row and changes nothing.
    """

    def factory(resources: Resources) -> Handler:
        async def handle(delivery: Delivery) -> None:
            async with resources.pool.acquire() as conn, conn.transaction():
                if await first_delivery(
                    conn, schema=schema, consumer=consumer, message_id=delivery.envelope.id
                ):
                    await work(conn, delivery)

        return handle

    return factory


Worker = Callable[[Resources], contextlib.AbstractAsyncContextManager[None]]


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    """Everything the platform needs to run one service, alone or embedded with others."""

    name: str
    schema: str
    migrations_package: str
    routers: Sequence[APIRouter] = ()
    consumers: Sequence[Consumer] = ()
    workers: Sequence[Worker] = field(default_factory=tuple)


def make_bus(settings: Settings) -> Bus:
    """RabbitMQ when ``RAMPART_AMQP_URL`` is set, otherwise the in-process bus."""
    topology = Topology(settings.bus_namespace)
    if settings.amqp_url is not None:
        from rampart.core.bus.rabbitmq import RabbitBus

        return RabbitBus(
            settings.amqp_url.get_secret_value(),
            topology=topology,
            delivery_limit=settings.bus_delivery_limit,
            retry_delay_ms=settings.bus_retry_delay_ms,
            prefetch=settings.bus_prefetch,
            publish_timeout_s=settings.publish_timeout_s,
        )
    from rampart.core.bus.memory import MemoryBus

    return MemoryBus(
        topology=topology,
        delivery_limit=settings.bus_delivery_limit,
        retry_delay_ms=settings.bus_retry_delay_ms,
        prefetch=settings.bus_prefetch,
    )


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


async def prepare_database(pool: Any, specs: Sequence[ServiceSpec]) -> None:
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
    specs: Sequence[ServiceSpec],
    *,
    bus: Bus | None = None,
    metrics: Metrics | None = None,
) -> AsyncIterator[dict[str, Any]]:
    """Open the pool and bus, migrate, start relays, consumers and workers; yield app state."""
    if settings.database_url is None:
        raise RuntimeError("RAMPART_DATABASE_URL is not set")
    metrics = metrics or Metrics()
    keyring = Keyring.from_settings(settings)
    pool = await connect_pool(
        settings.database_url.get_secret_value(),
        min_size=settings.db_pool_min,
        max_size=settings.db_pool_max,
    )
    bus = bus or make_bus(settings)
    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(pool.close)
        await prepare_database(pool, specs)
        await bus.start()
        stack.push_async_callback(bus.close)
        resources = Resources(settings, pool, bus, keyring, metrics)
        for spec in specs:
            relay = OutboxRelay(
                pool=pool,
                bus=bus,
                schema=spec.schema,
                batch_size=settings.outbox_batch,
                on_published=metrics.relayed.labels(spec.schema).inc,
            )
            await relay.start()
            stack.push_async_callback(relay.stop)
        for spec in specs:
            for consumer in spec.consumers:
                handler = _observed(consumer.handler(resources), consumer.queue, metrics)
                await bus.subscribe(
                    consumer.queue, consumer.patterns, handler, prefetch=consumer.prefetch
                )
            for worker in spec.workers:
                await stack.enter_async_context(worker(resources))
        log.info("services started", extra={"services": [s.name for s in specs]})
        yield {
            "settings": settings,
            "pool": pool,
            "bus": bus,
            "keyring": keyring,
            "metrics": metrics,
            "resources": resources,
            "token_cache": new_token_cache(),
        }
        log.info("services stopping", extra={"services": [s.name for s in specs]})
