"""Fixtures of the engine's tests: the engine on the shared harness, and its test doubles.

The engine runs through ``start_services`` (``tests/harness.py``) on a database of the test's
own (``fresh_database``), served over HTTP like every other service under test.

Tests whose playbooks act run the real action broker, asset registry and approvals, on
``noop`` assets made through the registry's API (``engine_stack(..., noop_assets=...)``): an
action is held by its asset's approval gate and let go or denied through the approvals API,
a lookup answers the ``verdict`` its asset is configured with. Without ``noop_assets`` (and
not embedded) no broker runs, and nothing answers an action.

Events come from ``FakeIngest``, which serves the engine the event contract (an event with
artifacts) and announces each event on the bus as ingest does.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from rampart.core.auth import Role
from rampart.core.bus import Bus
from rampart.core.envelope import Envelope
from rampart.core.messages import ActionRequested, EventIngested
from tests.harness import Captured, ServiceHarness, StartServices, eventually


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
class FakeAssets:
    """Answers the asset registry's ``GET /api/v1/assets?tag=&action=`` contract."""

    by_tag: dict[str, list[str]] = field(default_factory=dict)
    calls: list[tuple[str | None, str | None]] = field(default_factory=list)

    async def names(self, *, tag: str | None, action: str | None) -> list[str]:
        self.calls.append((tag, action))
        return list(self.by_tag.get(tag or "", []))


@dataclass
class EngineStack:
    """The engine served by the shared harness, with the engine's own test doubles.

    ``services`` is the running ``ServiceHarness``; ``captured`` holds every change request,
    playbook message and action request published while it ran.
    """

    services: ServiceHarness
    client: httpx.AsyncClient
    captured: Captured
    ingest: FakeIngest
    assets: FakeAssets
    folder: Path
    owner_id: str | None = None
    _approver: dict[str, str] = field(default_factory=dict)

    eventually = staticmethod(eventually)

    def requests(self) -> list[ActionRequested]:
        """Every ``action.requested`` the engine published, in order."""
        return list(self.captured.of(ActionRequested))

    async def action_runs(self, **params: Any) -> list[dict[str, Any]]:
        """The broker's action runs matching ``params``, newest first."""
        response = await self.client.get(
            "/api/v1/action-runs", params={"limit": 500, **params}, headers=self.headers()
        )
        assert response.status_code == 200, response.text
        return list(response.json()["items"])

    async def approvals(self, count: int = 1) -> list[dict[str, Any]]:
        """Wait until ``count`` approvals wait for the owner of the ``noop`` assets."""
        if not self._approver:
            made = await self.client.post(
                f"/api/v1/owners/{self.owner_id}/approver-tokens", headers=self.headers()
            )
            assert made.status_code == 201, made.text
            self._approver["Authorization"] = f"Bearer {made.json()['token']}"

        async def waiting() -> list[dict[str, Any]] | None:
            mine = await self.client.get(
                "/api/v1/approvals", params={"mine": "true"}, headers=self._approver
            )
            assert mine.status_code == 200, mine.text
            found: list[dict[str, Any]] = mine.json()
            return found if len(found) >= count else None

        return await eventually(waiting, what=f"{count} approvals waiting")

    async def decide(self, approval: dict[str, Any], decision: str, comment: str = "") -> None:
        """The owner approves (``approve``) or denies (``deny``) a waiting approval."""
        decided = await self.client.post(
            f"/api/v1/approvals/{approval['id']}/decision",
            json={"decision": decision, "comment": comment},
            headers=self._approver,
        )
        assert decided.status_code == 200, decided.text

    @property
    def bus(self) -> Bus:
        return self.services.bus

    @property
    def pool(self) -> Any:
        return self.services.pool

    def headers(self, role: Role = Role.ADMIN) -> dict[str, str]:
        return self.services.headers(role)

    async def handled(self, queue: str) -> int:
        """How many deliveries of ``queue`` the engine handled without error."""
        return await self.services.handled(queue)

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

        return await eventually(check, timeout=timeout, what=f"{count} runs ended")


BROKER_SERVICES = ("action-broker", "asset-registry", "approvals")


NoopAssets = tuple[str, ...] | dict[str, dict[str, Any]]
"""Names of ``noop`` assets, or names with fields of each (``approval_policy``, ``tags``)."""


async def make_noop_assets(services: ServiceHarness, assets: NoopAssets) -> str:
    """An owner and a ``noop`` asset per name, made through the asset registry's API; the
    owner's id. An asset keeps the default policy unless given one: ``contain`` and
    ``correct`` actions wait for the owner's approval."""
    fields = assets if isinstance(assets, dict) else {name: {} for name in assets}
    async with services.client(Role.ADMIN) as client:
        owner = await client.post("/api/v1/owners", json={"name": "engine-tests"})
        assert owner.status_code == 201, owner.text
        for name, extra in fields.items():
            asset = await client.post(
                "/api/v1/assets",
                json={
                    "name": name,
                    "connector": "noop",
                    "config": {},
                    "primary_owners": [owner.json()["id"]],
                    **extra,
                },
            )
            assert asset.status_code == 201, asset.text
        return str(owner.json()["id"])


StackFactory = Callable[..., contextlib.AbstractAsyncContextManager[EngineStack]]


@pytest.fixture
def engine_stack(
    start_services: StartServices, fresh_database: str, tmp_path: Path
) -> StackFactory:
    """Start the engine (alone, with the broker, or embedded) with a playbooks folder.

    It runs through ``start_services`` on a database of the test's own (``fresh_database``).

    Tests of runs, waits, acts and faults run on both buses (the harness's ``bus_kind``);
    those where the bus plays no part (authorization, sources, docs) on the in-process one.
    """

    @contextlib.asynccontextmanager
    async def start(
        playbooks: dict[str, str] | None = None,
        *,
        assets: dict[str, list[str]] | None = None,
        processes: int = 2,
        folder: Path | None = None,
        embedded: bool = False,
        noop_assets: NoopAssets = (),
    ) -> AsyncIterator[EngineStack]:
        """``folder`` replaces the test's own; ``embedded`` runs all five services in one app.

        Embedded, the engine reads events from the real ingest service of the app, over HTTP.
        With ``noop_assets``, the real action broker runs the actions, with the asset registry
        and approvals, on those ``noop`` assets made through the registry's API (events still
        come from ``FakeIngest`` unless embedded).
        """
        from rampart.cli._services import all_specs, service_spec
        from rampart.engine.config import EngineSettings
        from rampart.engine.spec import build_spec

        folder = folder or tmp_path / "playbooks"
        folder.mkdir(exist_ok=True)
        for filename, source in (playbooks or {}).items():
            (folder / filename).write_text(source)
        ingest, directory = FakeIngest(), FakeAssets(dict(assets or {}))
        config = EngineSettings(
            playbooks_dir=folder,
            processes=processes,
            sync_interval_s=0.2,
            timer_interval_s=0.2,
            inspect_timeout_s=2.0,
            predicate_timeout_s=1.0,
        )
        spec = build_spec(
            config=config,
            events=None if embedded else (lambda _r: ingest),
            assets=lambda _r: directory,
        )
        specs = [spec]
        if embedded:
            specs = [s if s.name != spec.name else spec for s in all_specs()]
        elif noop_assets:
            specs += [service_spec(name) for name in BROKER_SERVICES]
        async with start_services(
            specs, database_url=fresh_database, bus_retry_delay_ms=20
        ) as services:
            owner_id = await make_noop_assets(services, noop_assets) if noop_assets else None
            captured = await services.capture(
                "event.change.requested", "playbook.#", "action.requested"
            )
            async with services.client(None) as client:
                yield EngineStack(services, client, captured, ingest, directory, folder, owner_id)

    return start
