"""Fixtures of the distributed tests: real ``rampart serve playbook-engine`` processes.

The test process plays ingest (it publishes ``event.ingested`` and serves the events over
HTTP), the asset registry, and the action broker (a test responder answering every
``action.requested`` with ``action.completed``).
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import asyncpg
import pytest

from rampart.core.bus import Delivery
from rampart.core.bus.rabbitmq import RabbitBus
from rampart.core.crypto import Keyring
from rampart.core.envelope import Envelope
from rampart.core.messages import (
    ActionCompleted,
    ActionRequested,
    AssetResult,
    EventIngested,
)
from tests._bus import delete_namespace
from tests._processes import RampartProcess, free_port, process_env
from tests.harness import Captured, eventually, make_test_bus

QUEUES = ["engine.triggers", "engine.results", "test.responder", "test.recorder"]
TOKEN = "rmp_test-service-token"

SPIN = """
from rampart.sdk import Budget, playbook

@playbook(labels=["spin"], budget=Budget(step_seconds=1))
async def spin(ctx, event):
    while True:
        pass
"""

THREE_ACTS = """
import time
from rampart.sdk import playbook

@playbook(labels=["three"])
async def three_acts(ctx, event):
    first = await ctx.act("lookup ip", asset="intel", ip="192.0.2.1")
    # a long stretch of playbook code: the engine is killed in the middle of this pass
    time.sleep(event.data.get("pause", 0))
    second = await ctx.act("block ip", asset="fw-1", ip="192.0.2.1")
    third = await ctx.act("block ip", asset="fw-2", ip="192.0.2.1")
    return [first.status, second.status, third.status]
"""


class FakeServices:
    """Serves ingest's ``GET /api/v1/events/{id}`` and the registry's ``GET /api/v1/assets``."""

    def __init__(self) -> None:
        self.events: dict[str, dict[str, Any]] = {}
        self.unauthorized = 0
        services = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    services.unauthorized += 1
                    self._send(401, {"detail": "bad token"})
                    return
                url = urlparse(self.path)
                if url.path.startswith("/api/v1/events/"):
                    event = services.events.get(url.path.rsplit("/", 1)[-1])
                    self._send(200 if event else 404, event or {"detail": "no event"})
                elif url.path == "/api/v1/assets":
                    tag = parse_qs(url.query).get("tag", [""])[0]
                    self._send(200, [{"name": f"{tag}-{i}"} for i in (1, 2)])
                else:
                    self._send(404, {"detail": "no route"})

            def _send(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._serving = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._serving.start()

    def close(self) -> None:
        """Stop serving and close the listening socket."""
        self.server.shutdown()
        self.server.server_close()
        self._serving.join(timeout=10)

    def event(
        self,
        *,
        labels: list[str],
        data: dict[str, Any] | None = None,
        artifacts: list[dict[str, Any]] | None = None,
        severity: str = "high",
    ) -> EventIngested:
        event_id = uuid.uuid4()
        self.events[str(event_id)] = {
            "id": str(event_id),
            "name": "distributed test",
            "severity": severity,
            "labels": labels,
            "status": "new",
            "source": "test",
            "artifacts": artifacts or [],
            "data": data or {},
        }
        return EventIngested(
            event_id=event_id, source="test", name="t", severity="high", labels=labels
        )


@dataclass
class Cluster:
    """Engine processes, the bus the test talks on, and what the test responder saw."""

    env: dict[str, str]
    tmp: Path
    bus: RabbitBus
    services: FakeServices
    database_url: str
    folder: Path
    procs: list[RampartProcess] = field(default_factory=list)
    requests: list[tuple[str, ActionRequested]] = field(default_factory=list)
    completed: Captured = field(default_factory=lambda: Captured("test.recorder"))
    on_request: Callable[[ActionRequested], bool] = lambda _r: True
    summary: Callable[[ActionRequested], dict[str, Any]] = lambda _r: {}
    duplicate: bool = False
    counted: tuple[str, ...] = (
        "three_acts",
        "contain_malware_linux",
        "phishing_triage",
        "brute_force_response",
    )

    def start_engine(self) -> RampartProcess:
        port = free_port()
        n = len(self.procs)
        proc = RampartProcess(
            ["serve", "playbook-engine", "--port", str(port)],
            self.env,
            self.tmp / f"engine-{n}.log",
            port,
        )
        proc.start()
        self.procs.append(proc)
        return proc

    async def answer(self, request: ActionRequested) -> None:
        answer = ActionCompleted(
            request_key=request.request_key,
            action=request.action,
            status="success",
            results=[
                AssetResult(
                    asset=request.target.asset or f"{request.target.tag}-1",
                    status="success",
                    summary=self.summary(request),
                )
            ],
        )
        envelope = Envelope.wrap(answer, source="test/responder")
        await self.bus.publish([envelope])
        if self.duplicate:
            # a redelivery of the same message, and the same result sent again
            await self.bus.publish([envelope, Envelope.wrap(answer, source="test/responder")])

    async def _responder(self, delivery: Delivery) -> None:
        request = delivery.message_as(ActionRequested)
        self.requests.append((delivery.envelope.id, request))
        if self.on_request(request):
            await self.answer(request)

    async def runs(self) -> list[dict[str, Any]]:
        conn = await asyncpg.connect(self.database_url)
        try:
            rows = await conn.fetch(
                "SELECT id, playbook, event_id, status, result, error, passes FROM engine.runs "
                "WHERE playbook = ANY($1::text[])",
                list(self.counted),
            )
        finally:
            await conn.close()
        return [dict(r) for r in rows]

    async def wait_completed(self, count: int, *, within: float = 90.0) -> list[dict[str, Any]]:
        """Wait until ``count`` counted runs completed; returns every counted run."""

        async def enough() -> list[dict[str, Any]]:
            found = await self.runs()
            return found if len([r for r in found if r["status"] == "completed"]) >= count else []

        try:
            return await eventually(enough, timeout=within, interval=0.2, what="runs completed")
        except AssertionError as exc:
            tails = "\n".join(p.output()[-2000:] for p in self.procs)
            raise AssertionError(f"{exc}: {await self.runs()}\n{tails}") from None


@pytest.fixture
async def cluster(
    fresh_database: str, amqp_url: str, namespace: str, tmp_path: Path
) -> AsyncIterator[Cluster]:
    database_url = fresh_database
    folder = tmp_path / "playbooks"
    folder.mkdir()
    (folder / "three_acts.py").write_text(THREE_ACTS)
    (folder / "spin.py").write_text(SPIN)
    services = FakeServices()
    env = process_env(
        {
            "RAMPART_MODE": "distributed",
            "RAMPART_DATABASE_URL": database_url,
            "RAMPART_AMQP_URL": amqp_url,
            "RAMPART_MASTER_KEY": Keyring.generate_key_text(),
            "RAMPART_BUS_NAMESPACE": namespace,
            "RAMPART_BUS_RETRY_DELAY_MS": "50",
            "RAMPART_SERVICE_TOKEN": TOKEN,
            "RAMPART_INGEST_URL": services.url,
            "RAMPART_ASSETS_URL": services.url,
            "RAMPART_ENGINE_PLAYBOOKS_DIR": str(folder),
            "RAMPART_ENGINE_TIMER_INTERVAL_S": "0.2",
        }
    )
    bus = make_test_bus("rabbitmq", namespace, amqp_url, retry_delay_ms=50)
    assert isinstance(bus, RabbitBus)
    await bus.start()
    found = Cluster(env, tmp_path, bus, services, database_url, folder)
    await bus.subscribe("test.responder", ["action.requested"], found._responder)
    await bus.subscribe(found.completed.queue, ["playbook.run.completed"], found.completed.keep)
    try:
        yield found
    finally:
        for proc in found.procs:
            proc.stop()
        await bus.close()
        services.close()
        await delete_namespace(amqp_url, namespace, QUEUES)
