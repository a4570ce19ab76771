"""The approvals service as owners reach it: every service in one app over real HTTP.

The approvals service reads owners from the real asset registry, so each case runs all five
services (as ``rampart run`` does) on the in-process bus and on RabbitMQ, with a clock the test
moves by hand.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
import uvicorn
from pydantic import SecretStr

from rampart.approvals.spec import build_spec
from rampart.cli._services import all_specs
from rampart.core.app import create_app
from rampart.core.auth import AUTH_SCHEMA, Role, create_token
from rampart.core.bus import Bus, Delivery, Topology
from rampart.core.clock import ManualClock
from rampart.core.crypto import Keyring
from rampart.core.envelope import Envelope
from rampart.core.messages import ApprovalRequested, ApprovalStagePlan, Message
from rampart.core.settings import Settings
from rampart.core.store import apply_migrations, connect_pool, load_migrations
from tests._bus import delete_namespace
from tests._processes import free_port

CAPTURE = "test.approvals.capture"


@dataclass
class Owner:
    id: UUID
    name: str
    token: str


@dataclass
class Rampart:
    """One running installation and what a test needs to drive it."""

    url: str
    bus: Bus
    clock: ManualClock
    admin: httpx.AsyncClient
    seen: list[Delivery] = field(default_factory=list)

    async def send(self, message: Message) -> Envelope:
        envelope = Envelope.wrap(message, source="rampart/action-broker")
        await self.bus.publish([envelope])
        return envelope

    def as_owner(self, owner: Owner) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.url, timeout=30, headers={"Authorization": f"Bearer {owner.token}"}
        )

    async def owner(self, name: str) -> Owner:
        made = await self.admin.post("/api/v1/owners", json={"name": name, "kind": "person"})
        assert made.status_code == 201, made.text
        owner_id = UUID(made.json()["id"])
        token = await self.admin.post(f"/api/v1/owners/{owner_id}/approver-tokens")
        assert token.status_code in (200, 201), token.text
        return Owner(owner_id, name, token.json()["token"])

    async def group(self, name: str, members: list[Owner]) -> UUID:
        made = await self.admin.post(
            "/api/v1/owners",
            json={"name": name, "kind": "group", "members": [str(m.id) for m in members]},
        )
        assert made.status_code == 201, made.text
        return UUID(made.json()["id"])

    def messages(self, kind: type[Message]) -> list[Any]:
        return [d.message for d in self.seen if isinstance(d.message, kind)]


def approval_request(
    *stages: tuple[str, list[UUID], int],
    required: int = 1,
    requested_by: str = "playbook:contain-malware:run-1",
) -> ApprovalRequested:
    """What the broker sends for a gated ``terminate process`` on web-01."""
    return ApprovalRequested(
        action_run_id=uuid4(),
        request_key=f"run-1:step-{uuid4().hex[:8]}",
        action="terminate process",
        asset="web-01",
        connector="ssh",
        params={"pid": 4242},
        requested_by=requested_by,
        required_approvals=required,
        fingerprint="f" * 64,
        stages=[
            ApprovalStagePlan(stage=s, assignees=[str(a) for a in who], sla_minutes=m)  # type: ignore[arg-type]
            for s, who, m in stages
        ],
    )


async def eventually(check: Callable[[], Any], timeout: float = 15.0) -> Any:
    """Wait until ``check`` (plain or async) returns something truthy, and return it."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


@pytest.fixture
async def rampart(
    bus_kind: str, namespace: str, database_url: str, request: pytest.FixtureRequest
) -> AsyncIterator[Rampart]:
    port = free_port()
    pool = await connect_pool(database_url, min_size=1, max_size=2)
    try:
        await apply_migrations(
            pool, schema=AUTH_SCHEMA, migrations=load_migrations("rampart.core.auth")
        )
        async with pool.acquire() as conn:
            _, service_token = await create_token(conn=conn, name="services", role=Role.SERVICE)
            _, admin_token = await create_token(conn=conn, name="admin", role=Role.ADMIN)
    finally:
        await pool.close()
    topology = Topology(namespace)
    amqp: str | None = None
    bus: Bus
    if bus_kind == "rabbitmq":
        from rampart.core.bus.rabbitmq import RabbitBus

        amqp = request.getfixturevalue("amqp_url")
        bus = RabbitBus(amqp, topology=topology, retry_delay_ms=10, delivery_limit=3)
    else:
        from rampart.core.bus.memory import MemoryBus

        bus = MemoryBus(topology=topology, retry_delay_ms=10, delivery_limit=3)
    clock = ManualClock()
    approvals = build_spec(clock=clock, report_interval_s=0.2)
    specs = [approvals if s.name == "approvals" else s for s in all_specs()]
    settings = Settings(
        database_url=SecretStr(database_url),
        master_key=SecretStr(Keyring.generate_key_text()),
        public_url=f"http://127.0.0.1:{port}",
        service_token=SecretStr(service_token),
    )
    application = create_app(specs, settings, bus=bus, title="Rampart")
    server = uvicorn.Server(
        uvicorn.Config(application, host="127.0.0.1", port=port, log_config=None)
    )
    serving = asyncio.create_task(server.serve())
    try:
        for _ in range(600):
            if server.started or serving.done():
                break
            await asyncio.sleep(0.05)
        assert server.started, "the server did not start"
        async with httpx.AsyncClient(
            base_url=settings.public_url,
            timeout=30,
            headers={"Authorization": f"Bearer {admin_token}"},
        ) as admin:
            running = Rampart(settings.public_url, bus, clock, admin)

            async def capture(delivery: Delivery) -> None:
                running.seen.append(delivery)

            await bus.subscribe(CAPTURE, ["approval.#", "sla.#"], capture)
            yield running
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, 60)
        if amqp is not None:
            queues = [n for s in specs for n in s.queue_names]
            await delete_namespace(amqp, namespace, [*queues, CAPTURE])
