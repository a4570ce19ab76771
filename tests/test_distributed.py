"""Distributed mode: five `rampart serve` processes on real RabbitMQ and PostgreSQL."""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests._cluster import Cluster, start_cluster
from tests._eventually import eventually
from tests._processes import RampartProcess, wait_ready

pytestmark = [pytest.mark.slow, pytest.mark.rabbitmq]


@pytest.fixture
async def cluster(
    fresh_database: str, amqp_url: str, namespace: str, tmp_path: Path
) -> AsyncIterator[Cluster]:
    async with start_cluster(
        database_url=fresh_database, amqp_url=amqp_url, namespace=namespace, tmp=tmp_path
    ) as running:
        yield running


async def _timers(client: httpx.AsyncClient, url: str) -> set[str]:
    response = await client.get(f"{url}/api/v1/slas", params={"limit": 500})
    assert response.status_code == 200, response.text
    return {t["subject_id"] for t in response.json()}


async def test_outbox_message_reaches_other_services_and_survives_a_consumer_restart(
    cluster: Cluster,
) -> None:
    procs = cluster.procs
    headers = {"Authorization": f"Bearer {cluster.token}"}
    ingest, approvals, engine = procs["ingest"], procs["approvals"], procs["playbook-engine"]
    async with httpx.AsyncClient(headers=headers, timeout=10) as client:
        first = await client.post(f"{ingest.url}/api/v1/events", json={"name": "smoke"})
        assert first.status_code == 202, first.text
        first_id = first.json()["id"]

        async def reached_engine_and_approvals() -> bool:
            seen = await client.get(f"{engine.url}/api/v1/engine/events")
            return first_id in {e["event_id"] for e in seen.json()} and first_id in await _timers(
                client, approvals.url
            )

        await eventually(reached_engine_and_approvals, what="event.ingested reached both")

        assert approvals.signal(signal.SIGKILL) == -signal.SIGKILL
        while_down = []
        for i in range(10):
            posted = await client.post(f"{ingest.url}/api/v1/events", json={"name": f"down {i}"})
            while_down.append(posted.json()["id"])
        restarted = RampartProcess(
            approvals.args, cluster.env, cluster.tmp / "approvals-2.log", approvals.port
        )
        procs["approvals"] = restarted
        restarted.start()
        await wait_ready(restarted.url, proc=restarted)

        async def none_lost() -> bool:
            return set(while_down) | {first_id} <= await _timers(client, restarted.url)

        await eventually(none_lost, what="messages published while approvals was down")
        ready = await client.get(f"{restarted.url}/readyz")
        assert ready.json()["checks"] == {"database": True, "bus": True}
