"""Fixtures of the engine's tests: its own database, the engine app, a test responder.

The test responder stands in for the action broker: it consumes ``action.requested`` from the
bus and answers each with ``action.completed``, as the broker would once the action ran.
Events come from ``FakeIngest``, which serves the engine the event contract (an event with
artifacts) and announces each event on the bus as ingest does.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from asgi_lifespan import LifespanManager
from pydantic import SecretStr

from rampart.core.auth import Role, create_token
from rampart.core.bus import Bus, Delivery, MemoryBus, Topology
from rampart.core.crypto import Keyring
from rampart.core.envelope import Envelope
from rampart.core.messages import ActionCompleted, ActionRequested, AssetResult, EventIngested
from rampart.core.settings import Settings

Policy = Callable[[ActionRequested], ActionCompleted | None]


def success(request: ActionRequested) -> ActionCompleted:
    """Every action succeeds on its asset (or on a tag's two assets)."""
    assets = [request.target.asset] if request.target.asset else ["tag-a", "tag-b"]
    return ActionCompleted(
        request_key=request.request_key,
        action=request.action,
        status="success",
        results=[
            AssetResult(
                asset=str(a),
                status="success",
                summary={"action": request.action, **request.params},
                data=[{"asset": a}],
            )
            for a in assets
        ],
        event_id=request.event_id,
        run_id=request.run_id,
    )


@dataclass
class Responder:
    """Answers ``action.requested`` on the bus, as the action broker would."""

    bus: Bus
    policy: Policy = success
    requests: list[tuple[str, ActionRequested]] = field(default_factory=list)
    held: list[ActionRequested] = field(default_factory=list)
    queue: str = "test.responder"

    async def start(self) -> None:
        await self.bus.subscribe(self.queue, ["action.requested"], self._on_request)

    async def _on_request(self, delivery: Delivery) -> None:
        request = delivery.message_as(ActionRequested)
        self.requests.append((delivery.envelope.id, request))
        answer = self.policy(request)
        if answer is None:
            self.held.append(request)
            return
        await self.answer(answer, cause=delivery.envelope)

    async def answer(self, answer: ActionCompleted, cause: Envelope | None = None) -> Envelope:
        envelope = Envelope.wrap(answer, source="test/responder", cause=cause)
        await self.bus.publish([envelope])
        return envelope

    def keys(self) -> list[str]:
        return [r.request_key for _, r in self.requests]

    @staticmethod
    def success(request: ActionRequested) -> ActionCompleted:
        """The answer of an action that succeeded."""
        return success(request)


@dataclass
class Recorder:
    """Keeps every message of some topics that reached its own queue."""

    bus: Bus
    patterns: tuple[str, ...]
    queue: str = "test.recorder"
    seen: list[Delivery] = field(default_factory=list)

    async def start(self) -> None:
        await self.bus.subscribe(self.queue, list(self.patterns), self._keep)

    async def _keep(self, delivery: Delivery) -> None:
        self.seen.append(delivery)

    def of(self, message_type: type[Any]) -> list[Any]:
        return [d.message for d in self.seen if isinstance(d.message, message_type)]


@dataclass
class FakeIngest:
    """Serves events to the engine and announces them, as the ingest service does."""

    events: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)
    down: bool = False

    async def fetch(self, event_id: uuid.UUID) -> dict[str, Any] | None:
        if self.down:
            from rampart.core.errors import TransientError

            raise TransientError("ingest unreachable: test says it is down")
        return self.events.get(event_id)

    def add(
        self,
        *,
        name: str = "test event",
        severity: str = "high",
        labels: list[str] | None = None,
        artifacts: list[dict[str, Any]] | None = None,
    ) -> tuple[dict[str, Any], EventIngested]:
        event_id = uuid.uuid4()
        event = {
            "id": str(event_id),
            "name": name,
            "severity": severity,
            "labels": labels or [],
            "status": "new",
            "source": "test",
            "artifacts": artifacts or [],
            "data": {},
        }
        self.events[event_id] = event
        message = EventIngested(
            event_id=event_id,
            source="test",
            name=name,
            severity=severity,  # type: ignore[arg-type]
            labels=labels or [],
            artifact_count=len(artifacts or []),
        )
        return event, message


@dataclass
class AppIngest:
    """The real ingest service of an embedded app, read over HTTP through the app itself."""

    app: Any = None
    token: str = ""

    async def fetch(self, event_id: uuid.UUID) -> dict[str, Any] | None:
        from rampart.engine.clients import HttpEventSource

        transport = httpx.ASGITransport(app=self.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://rampart") as client:
            return await HttpEventSource(client, token=self.token).fetch(event_id)


@dataclass
class FakeAssets:
    """Answers the asset registry's ``GET /api/v1/assets?tag=&action=`` contract."""

    by_tag: dict[str, list[str]] = field(default_factory=dict)
    calls: list[tuple[str | None, str | None]] = field(default_factory=list)

    async def names(self, *, tag: str | None, action: str | None) -> list[str]:
        self.calls.append((tag, action))
        return list(self.by_tag.get(tag or "", []))


@dataclass
class EngineStack:
    """A running engine app with its bus, database, tokens and test doubles."""

    client: httpx.AsyncClient
    bus: Bus
    pool: Any
    tokens: dict[Role, str]
    responder: Responder
    recorder: Recorder
    ingest: FakeIngest
    assets: FakeAssets
    folder: Path

    eventually = staticmethod(lambda check, timeout=20.0: eventually(check, timeout=timeout))

    async def count(
        self, read: Callable[[], Any], count: int, *, timeout: float = 20.0
    ) -> list[Any]:
        """Wait until ``read()`` returns at least ``count`` items; returns them."""

        async def check() -> list[Any] | None:
            found = list(read())
            return found if len(found) >= count else None

        result: list[Any] = await eventually(check, timeout=timeout)
        return result

    async def handled(self, queue: str) -> int:
        """How many deliveries of ``queue`` the engine handled without error."""
        text = (await self.client.get("/metrics")).text
        marker = f'rampart_messages_handled_total{{outcome="ok",queue="{queue}"}} '
        for line in text.splitlines():
            if line.startswith(marker):
                return int(float(line[len(marker) :]))
        return 0

    def headers(self, role: Role = Role.ADMIN) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    async def ingest_event(self, **event: Any) -> uuid.UUID:
        """Store an event in the fake ingest and announce it on the bus."""
        stored, message = self.ingest.add(**event)
        await self.bus.publish([Envelope.wrap(message, source="test/ingest")])
        return uuid.UUID(stored["id"])

    async def post_event(self, **event: Any) -> uuid.UUID:
        """Post an event to the real ingest service (embedded stacks)."""
        response = await self.client.post(
            "/api/v1/events", json={"name": "test event", **event}, headers=self.headers()
        )
        assert response.status_code == 202, response.text
        return uuid.UUID(response.json()["id"])

    async def runs(self, **params: Any) -> list[dict[str, Any]]:
        response = await self.client.get("/api/v1/runs", params=params, headers=self.headers())
        assert response.status_code == 200, response.text
        found: list[dict[str, Any]] = response.json()
        return found

    async def run(self, run_id: str) -> dict[str, Any]:
        response = await self.client.get(f"/api/v1/runs/{run_id}", headers=self.headers())
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()
        return found

    async def finished_runs(
        self, count: int, *, timeout: float = 30.0, **params: Any
    ) -> list[dict[str, Any]]:
        """Wait until ``count`` runs (matching ``params``) have ended; returns them."""

        async def check() -> list[dict[str, Any]] | None:
            found = await self.runs(**params)
            ended = [r for r in found if r["status"] in ("completed", "failed", "cancelled")]
            return ended if len(ended) >= count else None

        return await eventually(check, timeout=timeout)


async def eventually(check: Callable[[], Awaitable[Any]], *, timeout: float = 20.0) -> Any:
    """Poll ``check`` until it returns something truthy, or fail after ``timeout`` s."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(0.05)


@pytest.fixture
async def engine_database(pg_server_url: str) -> AsyncIterator[str]:
    """A database of this test's own, so its playbooks and runs meet no other test's."""
    name = f"rampart_e_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(pg_server_url)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    base, sep, query = pg_server_url.partition("?")
    yield f"{base.rpartition('/')[0]}/{name}{sep}{query}"
    conn = await asyncpg.connect(pg_server_url)
    await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await conn.close()


StackFactory = Callable[..., contextlib.AbstractAsyncContextManager[EngineStack]]


@pytest.fixture
def engine_stack(engine_database: str, tmp_path: Path, namespace: str) -> StackFactory:
    """Start the engine alone (in-process bus) with a playbooks folder holding ``playbooks``."""

    @contextlib.asynccontextmanager
    async def start(
        playbooks: dict[str, str] | None = None,
        *,
        policy: Policy = success,
        assets: dict[str, list[str]] | None = None,
        processes: int = 2,
        folder: Path | None = None,
        embedded: bool = False,
    ) -> AsyncIterator[EngineStack]:
        """``folder`` replaces the test's own; ``embedded`` runs all five services in one app.

        Embedded, the engine reads events from the real ingest service of the app.
        """
        from rampart.cli._services import all_specs
        from rampart.core.app import create_app
        from rampart.engine.config import EngineSettings
        from rampart.engine.spec import build_spec

        folder = folder or tmp_path / "playbooks"
        folder.mkdir(exist_ok=True)
        for filename, source in (playbooks or {}).items():
            (folder / filename).write_text(source)
        ingest, directory = FakeIngest(), FakeAssets(dict(assets or {}))
        real_ingest = AppIngest()
        config = EngineSettings(
            playbooks_dir=folder,
            processes=processes,
            sync_interval_s=0.2,
            timer_interval_s=0.2,
            inspect_timeout_s=2.0,
            predicate_timeout_s=1.0,
        )
        events: Any = real_ingest if embedded else ingest
        spec = build_spec(config=config, events=lambda _r: events, assets=lambda _r: directory)
        settings = Settings(
            database_url=SecretStr(engine_database),
            master_key=SecretStr(Keyring.generate_key_text()),
            bus_namespace=namespace,
            bus_retry_delay_ms=20,
        )
        bus = MemoryBus(topology=Topology(namespace), retry_delay_ms=20, delivery_limit=5)
        specs = [spec]
        if embedded:
            specs = [s if s.name != spec.name else spec for s in all_specs()]
        app = create_app(specs, settings, bus=bus)
        async with LifespanManager(app, startup_timeout=60, shutdown_timeout=30) as manager:
            state = manager._state  # the lifespan state: pool, bus, ...
            pool = state["pool"]
            tokens: dict[Role, str] = {}
            async with pool.acquire() as conn:
                for role in Role:
                    _, tokens[role] = await create_token(conn=conn, name=f"t-{role}", role=role)
            real_ingest.app, real_ingest.token = manager.app, tokens[Role.SERVICE]
            responder = Responder(bus, policy)
            await responder.start()
            recorder = Recorder(bus, ("event.change.requested", "playbook.#", "action.requested"))
            await recorder.start()
            transport = httpx.ASGITransport(app=manager.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://engine") as client:
                yield EngineStack(
                    client, bus, pool, tokens, responder, recorder, ingest, directory, folder
                )

    return start
