"""Distributed mode: `rampart serve asset-registry` on real PostgreSQL and RabbitMQ, with a
connector installed the way pip installs one (a package and its entry point on the path)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aio_pika
import asyncpg
import httpx
import pytest

from rampart.core.bus import Delivery, Topology
from rampart.core.bus.rabbitmq import RabbitBus
from rampart.core.crypto import Keyring
from tests._processes import RampartProcess, cli_token, free_port

pytestmark = [pytest.mark.slow, pytest.mark.rabbitmq]

ROOT = Path(__file__).resolve().parents[3]
QUEUE = "test.assets"


def _example() -> str:
    page = (ROOT / "docs" / "connectors.md").read_text()
    after = page.split("<!-- example: static_list.py -->", 1)[1]
    return after.split("```python\n", 1)[1].split("\n```", 1)[0] + "\n"


def _site(root: Path, source: str) -> Path:
    """A folder holding a package and its .dist-info, as pip would leave them."""
    package = f"rampart_plugin_{uuid.uuid4().hex[:8]}"
    (root / package).mkdir(parents=True)
    (root / package / "__init__.py").write_text("")
    (root / package / "static_list.py").write_text(source)
    info = root / f"{package}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {package}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        f"[rampart.connectors]\nstatic-list = {package}.static_list:StaticListConnector\n"
    )
    return root


@pytest.fixture
async def environment(
    pg_server_url: str, amqp_url: str, namespace: str
) -> AsyncIterator[dict[str, str]]:
    """A database of its own and the settings of a distributed deployment."""
    name = f"rampart_a_{uuid.uuid4().hex[:10]}"
    base, sep, query = pg_server_url.partition("?")
    url = f"{base.rpartition('/')[0]}/{name}{sep}{query}"
    conn = await asyncpg.connect(pg_server_url)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAMPART_")}
    env.update(
        {
            "RAMPART_MODE": "distributed",
            "RAMPART_DATABASE_URL": url,
            "RAMPART_AMQP_URL": amqp_url,
            "RAMPART_MASTER_KEY": Keyring.generate_key_text(),
            "RAMPART_BUS_NAMESPACE": namespace,
        }
    )
    try:
        yield env
    finally:
        topology = Topology(namespace)
        connection = await aio_pika.connect(amqp_url)
        for target in (topology.queue(QUEUE), topology.dead_queue(QUEUE)):
            channel = await connection.channel()
            with contextlib.suppress(Exception):
                await channel.queue_delete(target)
        for exchange in (topology.exchange, topology.dead_letter_exchange):
            channel = await connection.channel()
            with contextlib.suppress(Exception):
                await channel.exchange_delete(exchange)
        await connection.close()
        conn = await asyncpg.connect(pg_server_url)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()


def _registry(env: dict[str, str], site: Path, log: Path) -> RampartProcess:
    """An asset registry process that finds the connectors installed in ``site``."""
    env = {**env, "PYTHONPATH": os.pathsep.join([str(site), env.get("PYTHONPATH", "")])}
    port = free_port()
    return RampartProcess(["serve", "asset-registry", "--port", str(port)], env, log, port)


async def test_registry_serves_an_installed_connector_and_publishes_on_rabbitmq(
    environment: dict[str, str], amqp_url: str, namespace: str, tmp_path: Path
) -> None:
    proc = _registry(environment, _site(tmp_path / "site", _example()), tmp_path / "registry.log")
    proc.start()
    bus = RabbitBus(amqp_url, topology=Topology(namespace))
    try:
        await proc.wait_ready()
        token = cli_token(environment, name="dist")
        received: list[Delivery] = []

        async def collect(delivery: Delivery) -> None:
            received.append(delivery)

        await bus.start()
        await bus.subscribe(QUEUE, ("asset.*", "owner.*"), collect)
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=proc.url, headers=headers, timeout=10) as client:
            apps = await client.get("/api/v1/apps")
            assert "static-list" in {a["name"] for a in apps.json()}, apps.text
            action = await client.get("/api/v1/actions/lookup%20ip")
            assert "static-list" in action.json()["apps"]
            owner = await client.post("/api/v1/owners", json={"name": "intel-team"})
            assert owner.status_code == 201, owner.text
            asset = await client.post(
                "/api/v1/assets",
                json={
                    "name": "blocklist",
                    "connector": "static-list",
                    "config": {"networks": ["203.0.113.0/24"], "api_token": "dist-secret-1"},
                    "primary_owners": [owner.json()["id"]],
                },
            )
            assert asset.status_code == 201, asset.text
            assert asset.json()["secrets"] == {"api_token": True}
            found = await client.get("/api/v1/assets", params={"action": "lookup ip"})
            assert [a["name"] for a in found.json()] == ["blocklist"]
        for _ in range(200):
            if {d.envelope.routing_key for d in received} >= {"owner.created", "asset.created"}:
                break
            await asyncio.sleep(0.05)
        topics = sorted(d.envelope.routing_key for d in received)
        assert topics == ["asset.created", "owner.created"], topics
        created = next(d for d in received if d.envelope.routing_key == "asset.created")
        assert created.envelope.source == "rampart/asset-registry"
        assert created.message.model_dump()["name"] == "blocklist"
        assert "dist-secret-1" not in proc.output()
    finally:
        await bus.close()
        proc.stop()


async def test_a_contradicting_connector_stops_the_start(
    environment: dict[str, str], tmp_path: Path
) -> None:
    broken = (
        _example()
        .replace("params: LookupIpParams", "params: Wrong")
        .replace(
            "class Reputation(BaseModel):",
            "class Wrong(BaseModel):\n    address: str\n\n\nclass Reputation(BaseModel):",
        )
    )
    proc = _registry(environment, _site(tmp_path / "site", broken), tmp_path / "refused.log")
    proc.start()
    assert proc.process is not None
    try:
        code = proc.process.wait(timeout=90)
    finally:
        proc.stop()
    output = proc.output()
    assert code != 0, output
    assert "connector 'static-list'" in output
    assert "is refused" in output
    assert "'lookup ip': parameter 'address' is not in the catalog" in output
