"""One way to run services in a test: an app on a test database, served over real HTTP.

```python
async def test_an_event_reaches_the_engine(start_services: StartServices) -> None:
    async with start_services() as rampart:          # all five services, on the test's bus
        captured = await rampart.capture("event.*")  # bound like an outside subscriber
        async with rampart.client(Role.ANALYST) as client:
            await client.post("/api/v1/events", json={"name": "x"})
        [ingested] = await captured.wait_for("event.ingested")
```

``start_services`` (a fixture of the root ``conftest.py``) runs on the ``bus_kind`` bus — once
in-process and once on RabbitMQ — unless a test narrows it with ``@memory_only``. The ``harness``
fixture is ``start_services()`` already started. Services reach each other over HTTP through
``public_url`` with a service token, exactly as ``rampart run`` serves them.
``start_services(replace=[build_spec(...)])`` serves a spec in place of its default, and
``await rampart.restart()`` serves the services anew on the same database.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import uvicorn
from pydantic import SecretStr

from rampart.core.app import create_app
from rampart.core.auth import AUTH_SCHEMA, Role, create_token
from rampart.core.bus import Bus, Delivery, Handler, MemoryBus, Topology
from rampart.core.crypto import Keyring
from rampart.core.messages import Message
from rampart.core.runtime import LifespanState, ServiceSpec
from rampart.core.settings import Settings
from rampart.core.store import Pool, apply_migrations, connect_pool, load_migrations
from tests._bus import delete_namespace
from tests._eventually import eventually
from tests._processes import free_port

__all__ = [
    "Captured",
    "ServiceHarness",
    "StartServices",
    "eventually",
    "make_test_bus",
    "memory_only",
    "serve_services",
]

memory_only = pytest.mark.parametrize("bus_kind", ["memory"], indirect=True)
"""Run a harness test on the in-process bus only (the bus plays no part in what it checks)."""

PROBLEM = "application/problem+json"


@dataclass
class Captured:
    """Every message that reached one outside queue, in arrival order."""

    queue: str
    deliveries: list[Delivery] = field(default_factory=list)

    async def keep(self, delivery: Delivery) -> None:
        self.deliveries.append(delivery)

    def of(self, kind: str | type[Message]) -> list[Any]:
        """Messages of a routing key (``event.ingested``) or of a message model."""
        if isinstance(kind, str):
            return [d.message for d in self.deliveries if d.envelope.routing_key == kind]
        return [d.message for d in self.deliveries if isinstance(d.message, kind)]

    async def wait_for(
        self, kind: str | type[Message], count: int = 1, *, timeout: float = 20.0
    ) -> list[Any]:
        """Wait until ``count`` messages of ``kind`` arrived; returns all of them so far."""

        def enough() -> list[Any]:
            found = self.of(kind)
            return found if len(found) >= count else []

        return await eventually(enough, timeout=timeout, what=f"{count} {kind} captured")


@dataclass
class ServiceHarness:
    """Running services: their app and URL, bus, pool, settings and a token per role."""

    app: Any
    url: str
    bus: Bus
    pool: Pool
    settings: Settings
    state: LifespanState
    tokens: dict[Role, str]
    _queues: list[str] = field(default_factory=list)
    _captures: list[tuple[Captured, tuple[str, ...]]] = field(default_factory=list)
    _restart: Callable[[], Awaitable[None]] | None = None

    eventually = staticmethod(eventually)

    def headers(self, role: Role = Role.ADMIN) -> dict[str, str]:
        """The Authorization header of ``role``'s token."""
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def client(self, role: Role | None = Role.ADMIN, **options: Any) -> httpx.AsyncClient:
        """An HTTP client on the services, with ``role``'s token (``None``: no token)."""
        headers = {**(self.headers(role) if role is not None else {}), **options.pop("headers", {})}
        options.setdefault("timeout", 30)
        return httpx.AsyncClient(base_url=self.url, headers=headers, **options)

    async def token(self, role: Role, name: str = "test") -> str:
        """A new token of ``role``."""
        async with self.pool.acquire() as conn:
            _, secret = await create_token(conn=conn, name=name, role=role)
        return secret

    async def capture(self, *patterns: str, queue: str | None = None) -> Captured:
        """Bind a queue of the test's own to ``patterns`` (default: everything) and record it."""
        captured = Captured(queue or f"test.capture.{uuid.uuid4().hex[:8]}")
        self._queues.append(captured.queue)
        self._captures.append((captured, patterns or ("#",)))
        await self.bus.subscribe(captured.queue, patterns or ("#",), captured.keep)
        return captured

    def delete_at_end(self, *queues: str) -> None:
        """Queues others declared on the test's namespace (e.g. a process the test started),
        to delete with the harness's own at the end."""
        self._queues.extend(queues)

    async def restart(self) -> None:
        """Stop the services and serve them anew: same database, settings, URL and tokens,
        a new bus of the same kind; every captured queue is bound again and goes on recording.
        ``app``, ``bus``, ``pool`` and ``state`` are the new ones afterwards."""
        assert self._restart is not None, "these services were served without a way to restart"
        await self._restart()

    async def subscribe(self, queue: str, patterns: Sequence[str], handler: Handler) -> None:
        """Consume ``patterns`` on a queue of the test's own (a stand-in service, say).

        The queue is deleted with the services' queues at the end, like a captured one.
        """
        self._queues.append(queue)
        await self.bus.subscribe(queue, patterns, handler)

    async def handled(self, queue: str, outcome: str = "ok") -> int:
        """How many deliveries of ``queue`` the services handled with ``outcome``."""
        value = self.state["metrics"].registry.get_sample_value(
            "rampart_messages_handled_total", {"queue": queue, "outcome": outcome}
        )
        return int(value or 0)


def make_test_bus(kind: str, namespace: str, amqp_url: str | None = None, **options: Any) -> Bus:
    """A bus of ``kind`` (``memory`` or ``rabbitmq``) on ``namespace``, not started yet."""
    options.setdefault("retry_delay_ms", 20)
    options.setdefault("delivery_limit", 5)
    if kind == "memory":
        return MemoryBus(topology=Topology(namespace), **options)
    from rampart.core.bus.rabbitmq import RabbitBus

    assert amqp_url, "a RabbitMQ bus needs RAMPART_TEST_AMQP_URL"
    return RabbitBus(amqp_url, topology=Topology(namespace), **options)


async def _service_token(database_url: str) -> str:
    pool = await connect_pool(database_url, min_size=1, max_size=2)
    try:
        await apply_migrations(
            pool, schema=AUTH_SCHEMA, migrations=load_migrations("rampart.core.auth")
        )
        async with pool.acquire() as conn:
            _, secret = await create_token(conn=conn, name="services", role=Role.SERVICE)
        return secret
    finally:
        await pool.close()


@contextlib.asynccontextmanager
async def serve_services(
    specs: Sequence[ServiceSpec[Any]],
    *,
    database_url: str,
    bus: Bus,
    amqp_url: str | None = None,
    new_bus: Callable[[], Bus] | None = None,
    **settings: Any,
) -> AsyncIterator[ServiceHarness]:
    """Serve ``specs`` as one app over HTTP on a free port; ``settings`` override the defaults.

    ``new_bus`` makes the bus of a restart (``ServiceHarness.restart``), like ``bus`` but new.
    """
    port = free_port()
    defaults: dict[str, Any] = {
        "database_url": SecretStr(database_url),
        "master_key": SecretStr(Keyring.generate_key_text()),
        "public_url": f"http://127.0.0.1:{port}",
        "service_token": SecretStr(await _service_token(database_url)),
        "bus_namespace": bus.topology.namespace,
    }
    config = Settings(**{**defaults, **settings})
    queues = [q for spec in specs for q in spec.queue_names]
    stop: Callable[[], Awaitable[None]] | None = None

    async def serve(on: Bus) -> tuple[Any, LifespanState]:
        """Serve the specs on ``on``; sets ``stop`` to what stops them."""
        nonlocal stop
        application = create_app(specs, config, bus=on, title="Rampart")
        server = uvicorn.Server(
            uvicorn.Config(application, host="127.0.0.1", port=port, log_config=None)
        )
        serving = asyncio.create_task(server.serve())

        async def stopping() -> None:
            server.should_exit = True
            await asyncio.wait_for(serving, 60)

        stop = stopping
        await eventually(lambda: server.started or serving.done(), timeout=90, what="start")
        if not server.started:
            serving.result()  # raises what stopped the start
            raise AssertionError("the services stopped while starting")
        return application, server.lifespan.state  # type: ignore[return-value]

    harness: ServiceHarness | None = None
    try:
        application, state = await serve(bus)
        tokens: dict[Role, str] = {}
        async with state["pool"].acquire() as conn:
            for role in Role:
                _, tokens[role] = await create_token(conn=conn, name=f"test-{role}", role=role)
        harness = ServiceHarness(
            application, config.public_url, bus, state["pool"], config, state, tokens
        )

        async def restart() -> None:
            assert harness is not None
            assert new_bus is not None, "serve_services needs new_bus to restart"
            if stop is not None:
                await stop()
            harness.bus = new_bus()
            harness.app, harness.state = await serve(harness.bus)
            harness.pool = harness.state["pool"]
            for captured, patterns in harness._captures:
                await harness.bus.subscribe(captured.queue, patterns, captured.keep)

        if new_bus is not None:
            harness._restart = restart
        yield harness
    finally:
        if harness is not None:
            queues.extend(harness._queues)
        if stop is not None:
            await stop()
        if amqp_url is not None:
            await delete_namespace(amqp_url, bus.topology.namespace, queues)


StartServices = Callable[..., contextlib.AbstractAsyncContextManager[ServiceHarness]]


def start_services_factory(
    *,
    database_url: str,
    bus_kind: str,
    namespace: str,
    amqp_url: str | None,
    default_specs: Callable[[], Iterable[ServiceSpec[Any]]],
) -> StartServices:
    """What the ``start_services`` fixture returns: ``start_services(specs=None, **settings)``.

    ``replace`` are specs served in place of the same-named ones of ``specs`` (default: of the
    default specs), e.g. ``replace=[build_spec(connectors=...)]``.
    """

    def start(
        specs: Iterable[ServiceSpec[Any]] | None = None,
        *,
        replace: Iterable[ServiceSpec[Any]] = (),
        database_url: str = database_url,
        bus_options: dict[str, Any] | None = None,
        **settings: Any,
    ) -> contextlib.AbstractAsyncContextManager[ServiceHarness]:
        def new_bus() -> Bus:
            return make_test_bus(bus_kind, namespace, amqp_url, **(bus_options or {}))

        instead = {spec.name: spec for spec in replace}
        served = [instead.pop(s.name, s) for s in (specs if specs is not None else default_specs())]
        assert not instead, f"no spec to replace with {sorted(instead)}"
        return serve_services(
            served,
            database_url=database_url,
            bus=new_bus(),
            amqp_url=amqp_url,
            new_bus=new_bus,
            **settings,
        )

    return start
