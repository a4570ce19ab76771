"""The action broker as a user reaches it: all five services in one app over real HTTP,
on the in-process bus or RabbitMQ, with the noop connector installed.

``broker`` gives a client, tokens by role, every message published on the bus, a way to make
an owner and a noop asset through the registry's API, and ``eventually``.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import asyncpg
import httpx
import pytest
import uvicorn
from pydantic import SecretStr

from rampart.broker.spec import broker_spec
from rampart.cli._services import all_specs
from rampart.core.app import create_app
from rampart.core.auth import AUTH_SCHEMA, Role, create_token
from rampart.core.bus import Bus, Delivery, Topology
from rampart.core.crypto import Keyring
from rampart.core.envelope import Envelope
from rampart.core.messages import Message
from rampart.core.settings import Settings
from rampart.core.store import apply_migrations, connect_pool, load_migrations
from tests._bus import delete_namespace
from tests._processes import free_port

FAST = {
    "RAMPART_BROKER_RECONCILE_INTERVAL_S": "0.1",
    "RAMPART_BROKER_BACKOFF_S": "0.05",
    "RAMPART_BROKER_LEASE_S": "3",
    "RAMPART_BROKER_ACTION_TIMEOUT_S": "5",
}
CAPTURE = "test.capture"


class Broker:
    """A running embedded app and what a test needs to drive it."""

    def __init__(
        self, client: httpx.AsyncClient, tokens: dict[Role, str], bus: Bus, settings: Settings
    ) -> None:
        self.settings = settings
        self.client = client
        self.tokens = tokens
        self.bus = bus
        self.seen: list[Delivery] = []
        self.queues: list[str] = [CAPTURE]
        self.suffix = uuid.uuid4().hex[:8]

    async def stop(self) -> None:
        """Stop the app (set by the fixture)."""

    async def restart(self) -> None:
        """Stop the app and serve a new one on the same database (set by the fixture)."""

    def auth(self, role: Role = Role.ADMIN) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def messages(self, model: type[Message], **match: Any) -> list[Any]:
        """Published messages of ``model`` whose fields equal ``match``."""
        return [
            d.message
            for d in self.seen
            if isinstance(d.message, model)
            and all(getattr(d.message, k) == v for k, v in match.items())
        ]

    async def eventually(self, check: Callable[[], Awaitable[Any]], timeout: float = 20) -> Any:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            result = await check()
            if result:
                return result
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"condition not met within {timeout} s")
            await asyncio.sleep(0.05)

    async def message(self, model: type[Message], timeout: float = 20, **match: Any) -> Any:
        """The first published message of ``model`` matching ``match``, waiting for it."""

        async def found() -> Any:
            got = self.messages(model, **match)
            return got[0] if got else None

        return await self.eventually(found, timeout)

    async def owner(self, name: str = "owner") -> str:
        response = await self.client.post(
            "/api/v1/owners", json={"name": f"{name}-{self.suffix}"}, headers=self.auth()
        )
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    async def asset(
        self, name: str, *, config: dict[str, Any] | None = None, **fields: Any
    ) -> dict[str, Any]:
        """A noop asset made through the registry's API; its name gets the test's suffix."""
        fields.setdefault("primary_owners", [await self.owner(f"{name}-owner")])
        response = await self.client.post(
            "/api/v1/assets",
            json={
                "name": f"{name}-{self.suffix}",
                "connector": "noop",
                "config": config or {},
                **fields,
            },
            headers=self.auth(),
        )
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def publish(self, message: Message) -> Envelope:
        envelope = Envelope.wrap(message, source="rampart/tests", subject=None)
        from rampart.core.bus import Outgoing

        await self.bus.publish_encoded([Outgoing.of(envelope)])
        return envelope

    async def run(self, run_id: Any) -> dict[str, Any]:
        response = await self.client.get(f"/api/v1/action-runs/{run_id}", headers=self.auth())
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def runs_of(self, request_key: str) -> list[dict[str, Any]]:
        response = await self.client.get(
            "/api/v1/action-runs", params={"limit": 500}, headers=self.auth()
        )
        return [r for r in response.json()["items"] if r["request_key"] == request_key]


async def _service_token(database_url: str) -> str:
    pool = await connect_pool(database_url, min_size=1, max_size=2)
    try:
        await apply_migrations(
            pool, schema=AUTH_SCHEMA, migrations=load_migrations("rampart.core.auth")
        )
        async with pool.acquire() as conn:
            _, token = await create_token(conn=conn, name="services", role=Role.SERVICE)
            return token
    finally:
        await pool.close()


def _bus(kind: str, namespace: str, amqp: str | None) -> Bus:
    topology = Topology(namespace)
    if kind == "memory":
        from rampart.core.bus.memory import MemoryBus

        return MemoryBus(topology=topology, retry_delay_ms=10, delivery_limit=3)
    from rampart.core.bus.rabbitmq import RabbitBus

    assert amqp is not None
    return RabbitBus(amqp, topology=topology, retry_delay_ms=10, delivery_limit=3)


@pytest.fixture(scope="module")
def database_url(pg_server_url: str) -> Iterator[str]:
    """A database of this module's own: the assets made here are nobody else's search hits."""
    name = f"rampart_b_{uuid.uuid4().hex[:12]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(pg_server_url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    base, sep, query = pg_server_url.partition("?")
    yield f"{base.rpartition('/')[0]}/{name}{sep}{query}"
    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def broker_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The broker's pacing for tests; a test may change it before ``broker`` starts."""
    for name, value in FAST.items():
        monkeypatch.setenv(name, value)
    return dict(FAST)


@pytest.fixture
def embedded_runners() -> bool:
    """Whether the app runs connector runners itself; a module may say no and start its own."""
    return True


@pytest.fixture
async def broker(
    database_url: str,
    bus_kind: str,
    namespace: str,
    broker_env: dict[str, str],
    embedded_runners: bool,
    request: pytest.FixtureRequest,
) -> AsyncIterator[Broker]:
    """All five services in one app behind a real HTTP server, on ``bus_kind``."""
    amqp = request.getfixturevalue("amqp_url") if bus_kind == "rabbitmq" else None
    port = free_port()
    settings = Settings(
        database_url=SecretStr(database_url),
        master_key=SecretStr(Keyring.generate_key_text()),
        public_url=f"http://127.0.0.1:{port}",
        service_token=SecretStr(await _service_token(database_url)),
        bus_namespace=namespace,
    )
    specs = all_specs()
    if not embedded_runners:
        specs = [broker_spec(connectors=[]) if s.name == "action-broker" else s for s in specs]
    tokens: dict[Role, str] = {}
    pool = await connect_pool(database_url, min_size=1, max_size=2)
    try:
        async with pool.acquire() as conn:
            for role in Role:
                _, tokens[role] = await create_token(conn=conn, name=f"t-{role}", role=role)
    finally:
        await pool.close()
    async with httpx.AsyncClient(base_url=settings.public_url, timeout=30) as client:
        harness = Broker(client, tokens, _bus(bus_kind, namespace, amqp), settings)

        async def start() -> Callable[[], Awaitable[None]]:
            """Serve a new app with a new bus on the same database; returns its stop."""
            bus = harness.bus = _bus(bus_kind, namespace, amqp)
            application = create_app(specs, settings, bus=bus, title="Rampart")
            server = uvicorn.Server(
                uvicorn.Config(application, host="127.0.0.1", port=port, log_config=None)
            )
            serving = asyncio.create_task(server.serve())

            async def stop() -> None:
                server.should_exit = True
                await asyncio.wait_for(serving, 60)

            for _ in range(1200):
                if server.started or serving.done():
                    break
                await asyncio.sleep(0.05)
            if not server.started:
                await stop()
                raise AssertionError("the server did not start")

            async def capture(delivery: Delivery) -> None:
                harness.seen.append(delivery)

            await bus.subscribe(CAPTURE, ("action.*", "action.dispatched.*", "approval.*"), capture)
            return stop

        harness.stop = await start()

        async def restart() -> None:
            await harness.stop()
            harness.stop = await start()

        harness.restart = restart  # type: ignore[method-assign]
        try:
            yield harness
        finally:
            await harness.stop()
            if amqp is not None:
                queues = [*harness.queues, *(q for s in specs for q in s.queue_names)]
                await delete_namespace(amqp, namespace, queues)
