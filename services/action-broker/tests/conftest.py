"""The action broker as a user reaches it: all five services on the shared harness, over real
HTTP on the in-process bus or RabbitMQ, with the noop connector installed.

``broker`` gives the running services, every action and approval message published on the
bus, a way to make an owner and a noop asset through the registry's API, and ``eventually``.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
import pytest

from rampart.broker.spec import broker_spec
from rampart.core.auth import Role
from rampart.core.bus import Bus, Outgoing
from rampart.core.envelope import Envelope
from rampart.core.messages import Message
from rampart.core.settings import Settings
from tests.harness import Captured, ServiceHarness, StartServices, eventually

FAST = {
    "RAMPART_BROKER_RECONCILE_INTERVAL_S": "0.1",
    "RAMPART_BROKER_BACKOFF_S": "0.05",
    "RAMPART_BROKER_LEASE_S": "3",
    "RAMPART_BROKER_ACTION_TIMEOUT_S": "5",
}


@dataclass
class Broker:
    """The running services and what a broker test needs to drive them."""

    services: ServiceHarness
    client: httpx.AsyncClient
    captured: Captured
    suffix: str = field(default_factory=lambda: uuid.uuid4().hex[:8])

    eventually = staticmethod(eventually)

    @property
    def bus(self) -> Bus:
        return self.services.bus

    @property
    def settings(self) -> Settings:
        return self.services.settings

    async def restart(self) -> None:
        """Stop the services and serve them anew on the same database."""
        await self.services.restart()

    def auth(self, role: Role = Role.ADMIN) -> dict[str, str]:
        return self.services.headers(role)

    def messages(self, model: type[Message], **match: Any) -> list[Any]:
        """Published messages of ``model`` whose fields equal ``match``."""
        return [
            m for m in self.captured.of(model) if all(getattr(m, k) == v for k, v in match.items())
        ]

    async def message(self, model: type[Message], timeout: float = 20, **match: Any) -> Any:
        """The first published message of ``model`` matching ``match``, waiting for it."""

        def found() -> Any:
            got = self.messages(model, **match)
            return got[0] if got else None

        return await eventually(found, timeout=timeout, what=f"a {model.__name__} {match}")

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
        await self.bus.publish_encoded([Outgoing.of(envelope)])
        return envelope

    async def run(self, run_id: Any) -> dict[str, Any]:
        response = await self.client.get(f"/api/v1/action-runs/{run_id}", headers=self.auth())
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def ended_unknown(self, request_key: str, timeout: float = 20) -> dict[str, Any]:
        """The request's one run, once it ended ``unknown`` (its request stays open)."""

        async def unknown() -> dict[str, Any] | None:
            found = await self.runs_of(request_key)
            return found[0] if len(found) == 1 and found[0]["status"] == "unknown" else None

        found = await eventually(unknown, timeout=timeout, what=f"{request_key} unknown")
        return await self.run(found["id"])

    async def runs_of(self, request_key: str) -> list[dict[str, Any]]:
        response = await self.client.get(
            "/api/v1/action-runs", params={"limit": 500}, headers=self.auth()
        )
        return [r for r in response.json()["items"] if r["request_key"] == request_key]


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
    start_services: StartServices,
    broker_env: dict[str, str],
    embedded_runners: bool,
) -> AsyncIterator[Broker]:
    """All five services on the shared harness, on ``bus_kind`` and this module's database."""
    replace = [] if embedded_runners else [broker_spec(connectors=[])]
    async with start_services(
        replace=replace, bus_options={"retry_delay_ms": 10, "delivery_limit": 3}
    ) as services:
        captured = await services.capture("action.*", "action.dispatched.*", "approval.*")
        async with services.client(None) as client:
            yield Broker(services, client, captured)
