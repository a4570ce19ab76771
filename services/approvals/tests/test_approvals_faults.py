"""SLA timers under faults: real `rampart serve approvals` processes on RabbitMQ and PostgreSQL.

Two replicas share the timers; one is SIGKILLed while timers come due and started again.
Every timer fires once (one breach message per subject, whatever the redeliveries), none
before its due time, none lost.
"""

from __future__ import annotations

import asyncio
import signal
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from rampart.core.bus import Delivery, Topology
from rampart.core.bus.rabbitmq import RabbitBus
from rampart.core.crypto import Keyring
from rampart.core.envelope import Envelope
from rampart.core.messages import EventIngested, SlaBreached
from tests._bus import delete_namespace
from tests._processes import RampartProcess, free_port, process_env, wait_ready

pytestmark = [pytest.mark.slow, pytest.mark.rabbitmq]

CAPTURE = "test.breaches"
TIMERS = 40


@pytest.fixture
async def replicas(
    fresh_database: str, amqp_url: str, namespace: str, tmp_path: Path
) -> AsyncIterator[dict[str, Any]]:
    env = process_env(
        {
            "RAMPART_MODE": "distributed",
            "RAMPART_DATABASE_URL": fresh_database,
            "RAMPART_AMQP_URL": amqp_url,
            "RAMPART_MASTER_KEY": Keyring.generate_key_text(),
            "RAMPART_BUS_NAMESPACE": namespace,
            "RAMPART_BUS_RETRY_DELAY_MS": "50",
        }
    )
    procs: list[RampartProcess] = []
    for i in range(2):
        port = free_port()
        proc = RampartProcess(
            ["serve", "approvals", "--port", str(port)], env, tmp_path / f"approvals-{i}.log", port
        )
        proc.start()
        procs.append(proc)
    bus = RabbitBus(amqp_url, topology=Topology(namespace))
    await bus.start()
    try:
        await asyncio.gather(*(wait_ready(p.url, proc=p) for p in procs))
        yield {"procs": procs, "env": env, "tmp": tmp_path, "bus": bus, "db": fresh_database}
    finally:
        for proc in procs:
            proc.stop()
        await bus.close()
        await delete_namespace(
            amqp_url, namespace, ["approvals.sla", "approvals.requests", CAPTURE]
        )


async def test_every_timer_fires_once_and_never_early_across_a_sigkill(
    replicas: dict[str, Any],
) -> None:
    bus: RabbitBus = replicas["bus"]
    seen: dict[uuid.UUID, set[str]] = {}
    announced: dict[uuid.UUID, datetime] = {}

    async def capture(delivery: Delivery) -> None:
        assert isinstance(delivery.message, SlaBreached)
        seen.setdefault(delivery.message.subject_id, set()).add(delivery.envelope.id)
        # when the replica wrote the breach, by its own clock
        announced[delivery.message.subject_id] = delivery.envelope.time

    await bus.subscribe(CAPTURE, ["sla.breached"], capture)
    start = datetime.now(UTC)
    events = [uuid.uuid4() for _ in range(TIMERS)]
    await bus.publish(
        [
            Envelope.wrap(
                EventIngested(
                    event_id=event_id,
                    source="splunk",
                    name=f"alert {i}",
                    severity="high",
                    # due one after the other over six seconds, across the kill and restart
                    due_at=start + timedelta(seconds=2, milliseconds=150 * i),
                ),
                source="rampart/ingest",
            )
            for i, event_id in enumerate(events)
        ]
    )
    first, second = replicas["procs"]
    deadline = asyncio.get_running_loop().time() + 30
    while len(seen) < TIMERS // 4:
        assert asyncio.get_running_loop().time() < deadline, "no timer fired"
        await asyncio.sleep(0.05)
    assert first.signal(signal.SIGKILL) == -signal.SIGKILL
    restarted = RampartProcess(
        first.args, replicas["env"], replicas["tmp"] / "approvals-0b.log", first.port
    )
    replicas["procs"][0] = restarted
    restarted.start()
    await wait_ready(restarted.url, proc=restarted)
    deadline = asyncio.get_running_loop().time() + 60
    while len(seen) < TIMERS:
        assert asyncio.get_running_loop().time() < deadline, f"only {len(seen)} timers fired"
        await asyncio.sleep(0.05)

    conn = await asyncpg.connect(replicas["db"])
    try:
        rows = await conn.fetch(
            "SELECT subject_id, status, due_at, fired_at FROM approvals.sla_timers "
            "WHERE subject_id = ANY($1::uuid[])",
            events,
        )
    finally:
        await conn.close()
    assert len(rows) == TIMERS
    assert all(r["status"] == "breached" for r in rows)
    assert all(r["fired_at"] >= r["due_at"] for r in rows), "a timer fired before it was due"
    early = [r["subject_id"] for r in rows if announced[r["subject_id"]] < r["due_at"]]
    assert early == [], "a breach was announced before its due time"
    assert {len(ids) for ids in seen.values()} == {1}, "a timer fired twice"
    assert second.process is not None
    assert second.process.poll() is None, "the other replica kept running"
