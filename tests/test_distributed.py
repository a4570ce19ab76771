"""Distributed mode: five `rampart serve` processes on real RabbitMQ and PostgreSQL."""

from __future__ import annotations

import asyncio
import signal
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from rampart.cli._services import SERVICES
from rampart.core.crypto import Keyring
from tests._bus import delete_namespace
from tests._processes import RampartProcess, cli_token, free_port, process_env, wait_ready

pytestmark = [pytest.mark.slow, pytest.mark.rabbitmq]

QUEUES = ["ingest.sla", "ingest.changes", "approvals.sla", "engine.triggers", "broker.requests"]


def _with_database(url: str, database: str) -> str:
    base, sep, query = url.partition("?")
    return f"{base.rpartition('/')[0]}/{database}{sep}{query}"


@pytest.fixture
async def own_database(pg_server_url: str) -> AsyncIterator[str]:
    name = f"rampart_d_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(pg_server_url)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    yield _with_database(pg_server_url, name)
    conn = await asyncpg.connect(pg_server_url)
    await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await conn.close()


@pytest.fixture
async def cluster(
    own_database: str, amqp_url: str, namespace: str, tmp_path: Path
) -> AsyncIterator[dict[str, Any]]:
    env = process_env(
        {
            "RAMPART_MODE": "distributed",
            "RAMPART_DATABASE_URL": own_database,
            "RAMPART_AMQP_URL": amqp_url,
            "RAMPART_MASTER_KEY": Keyring.generate_key_text(),
            "RAMPART_BUS_NAMESPACE": namespace,
            "RAMPART_BUS_RETRY_DELAY_MS": "50",
        }
    )
    procs = {}
    for name in SERVICES:
        port = free_port()
        procs[name] = RampartProcess(
            ["serve", name, "--port", str(port)], env, tmp_path / f"{name}.log", port
        )
        procs[name].start()
    try:
        await asyncio.gather(*(wait_ready(p.url, proc=p) for p in procs.values()))
        token = cli_token(env, name="smoke")
        yield {"procs": procs, "token": token, "env": env, "tmp": tmp_path}
    finally:
        for proc in procs.values():
            proc.stop()
        await delete_namespace(amqp_url, namespace, QUEUES)


async def _timers(client: httpx.AsyncClient, url: str) -> set[str]:
    response = await client.get(f"{url}/api/v1/slas", params={"limit": 500})
    assert response.status_code == 200, response.text
    return {t["subject_id"] for t in response.json()}


async def test_outbox_message_reaches_other_services_and_survives_a_consumer_restart(
    cluster: dict[str, Any],
) -> None:
    procs = cluster["procs"]
    headers = {"Authorization": f"Bearer {cluster['token']}"}
    ingest, approvals, engine = procs["ingest"], procs["approvals"], procs["playbook-engine"]
    async with httpx.AsyncClient(headers=headers, timeout=10) as client:
        first = await client.post(f"{ingest.url}/api/v1/events", json={"name": "smoke"})
        assert first.status_code == 202, first.text
        first_id = first.json()["id"]
        for _ in range(200):
            seen = await client.get(f"{engine.url}/api/v1/engine/events")
            if first_id in {e["event_id"] for e in seen.json()} and first_id in await _timers(
                client, approvals.url
            ):
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("event.ingested did not reach the engine and approvals")

        assert approvals.signal(signal.SIGKILL) == -signal.SIGKILL
        while_down = []
        for i in range(10):
            posted = await client.post(f"{ingest.url}/api/v1/events", json={"name": f"down {i}"})
            while_down.append(posted.json()["id"])
        restarted = RampartProcess(
            approvals.args, cluster["env"], cluster["tmp"] / "approvals-2.log", approvals.port
        )
        procs["approvals"] = restarted
        restarted.start()
        await wait_ready(restarted.url, proc=restarted)
        for _ in range(200):
            if set(while_down) | {first_id} <= await _timers(client, restarted.url):
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("messages published while approvals was down were lost")
        ready = await client.get(f"{restarted.url}/readyz")
        assert ready.json()["checks"] == {"database": True, "bus": True}
