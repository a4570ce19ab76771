"""The outbox publishes exactly what committed, survives a killed relay; the inbox dedupes."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from rampart.core.bus import Delivery, Outgoing
from rampart.core.envelope import Envelope
from rampart.core.inbox import first_delivery
from rampart.core.messages import EventIngested
from rampart.core.outbox import OutboxRelay, enqueue, pending
from rampart.core.store import Notifications, apply_migrations, load_migrations
from tests._eventually import eventually

QUEUE = "test.outbox"


def _envelope(name: str = "e") -> Envelope:
    message = EventIngested(event_id=uuid4(), source="test", name=name, severity="low")
    return Envelope.wrap(message, source="test")


async def _collector(bus: Any, received: list[str]) -> None:
    async def handle(delivery: Delivery) -> None:
        received.append(delivery.envelope.id)

    await bus.subscribe(QUEUE, ["event.ingested"], handle)


@pytest.fixture
async def notifications(database_url: str) -> Any:
    listening = Notifications(database_url)
    await listening.start()
    yield listening
    await listening.close()


@pytest.fixture
async def outbox_schema(pool: Any, schema: str) -> str:
    await apply_migrations(
        pool, schema=schema, migrations=load_migrations("rampart.core"), component="platform"
    )
    return schema


async def test_published_if_and_only_if_committed(
    pool: Any, notifications: Any, outbox_schema: str, make_bus: Any
) -> None:
    bus = await make_bus(queues=(QUEUE,))
    received: list[str] = []
    await _collector(bus, received)
    committed = [_envelope("kept") for _ in range(3)]
    rolled_back = [_envelope("dropped") for _ in range(3)]
    async with pool.acquire() as conn:
        async with conn.transaction():
            await enqueue(conn=conn, schema=outbox_schema, envelopes=committed)
        with pytest.raises(RuntimeError):
            async with conn.transaction():
                await enqueue(conn=conn, schema=outbox_schema, envelopes=rolled_back)
                raise RuntimeError("the business write failed")
        # committed last: once it is delivered, a rolled-back message would have been too
        marker = _envelope("marker")
        async with conn.transaction():
            await enqueue(conn=conn, schema=outbox_schema, envelopes=[marker])
    relay = OutboxRelay(
        pool=pool, notifications=notifications, bus=bus, schema=outbox_schema, poll_interval_s=0.05
    )
    await relay.start()
    try:
        await eventually(lambda: marker.id in received)
    finally:
        await relay.stop()
    assert sorted(received) == sorted([*(e.id for e in committed), marker.id])
    async with pool.acquire() as conn:
        assert await pending(conn=conn, schema=outbox_schema) == 0


async def test_a_message_the_bus_refuses_is_set_aside_and_the_rest_of_its_batch_goes_out(
    pool: Any, notifications: Any, outbox_schema: str, make_bus: Any
) -> None:
    bus = await make_bus(queues=(QUEUE,))
    received: list[str] = []
    await _collector(bus, received)
    before, poison, after = _envelope("before"), _envelope("poison"), _envelope("after")
    async with pool.acquire() as conn, conn.transaction():
        await enqueue(conn=conn, schema=outbox_schema, envelopes=[before])
        # a routing key over AMQP's 255 bytes: no broker takes it, however often it is tried
        await enqueue(conn=conn, schema=outbox_schema, envelopes=[poison], topic="k" * 260)
        await enqueue(conn=conn, schema=outbox_schema, envelopes=[after])
    refused: list[int] = []
    relay = OutboxRelay(
        pool=pool,
        notifications=notifications,
        bus=bus,
        schema=outbox_schema,
        poll_interval_s=0.05,
        on_refused=refused.append,
    )
    await relay.start()
    try:
        await eventually(lambda: len(received) >= 2)
    finally:
        await relay.stop()
    assert sorted(received) == sorted([before.id, after.id])
    assert relay.published == 2
    assert refused == [1]
    async with pool.acquire() as conn:
        assert await pending(conn=conn, schema=outbox_schema) == 0
        kept = await conn.fetch(
            f"SELECT message_id, message_type, reason, body FROM {outbox_schema}.outbox_refused"
        )
    assert [(r["message_id"], r["message_type"]) for r in kept] == [(poison.id, poison.type)]
    assert "routing key of 275 bytes is over the 255-byte limit" in kept[0]["reason"]
    assert kept[0]["body"] == poison.to_bytes()


async def test_notify_wakes_the_relay_without_polling(
    pool: Any, notifications: Any, outbox_schema: str, make_bus: Any
) -> None:
    bus = await make_bus(queues=(QUEUE,))
    received: list[str] = []
    await _collector(bus, received)
    relay = OutboxRelay(
        pool=pool, notifications=notifications, bus=bus, schema=outbox_schema, poll_interval_s=3600
    )
    await relay.start()
    try:
        await asyncio.sleep(0.1)  # the relay is now waiting for a notification
        envelope = _envelope()
        async with pool.acquire() as conn, conn.transaction():
            await enqueue(conn=conn, schema=outbox_schema, envelopes=[envelope])
        await eventually(lambda: envelope.id in received, timeout=5)
    finally:
        await relay.stop()


async def test_the_relays_wait_for_notifications_without_holding_a_pooled_connection(
    database_url: str, notifications: Any, outbox_schema: str, make_bus: Any
) -> None:
    """Six relays (an embedded process's services) on a pool of one: the pool stays free
    for the work, and each relay is still woken by its notification."""
    from rampart.core.store import connect_pool

    bus = await make_bus(queues=(QUEUE,))
    received: list[str] = []
    await _collector(bus, received)
    small = await connect_pool(database_url, min_size=1, max_size=1)
    relays = [
        OutboxRelay(
            pool=small,
            notifications=notifications,
            bus=bus,
            schema=outbox_schema,
            poll_interval_s=3600,
        )
        for _ in range(6)
    ]
    try:
        for relay in relays:
            await relay.start()
        async with small.acquire(timeout=5) as conn:
            assert await conn.fetchval("SELECT 1") == 1
            envelope = _envelope()
            async with conn.transaction():
                await enqueue(conn=conn, schema=outbox_schema, envelopes=[envelope])
        await eventually(lambda: envelope.id in received, timeout=5)
    finally:
        for relay in relays:
            await relay.stop()
        await small.close()


async def test_a_lost_listen_connection_comes_back_and_wakes_the_relay(
    pool: Any, notifications: Any, outbox_schema: str, make_bus: Any
) -> None:
    """The backend of the LISTEN connection is terminated (as by a PostgreSQL restart): it
    is opened again, and a later notification still wakes the relay, which never polls."""
    bus = await make_bus(queues=(QUEUE,))
    received: list[str] = []
    await _collector(bus, received)
    relay = OutboxRelay(
        pool=pool, notifications=notifications, bus=bus, schema=outbox_schema, poll_interval_s=3600
    )
    await relay.start()
    try:
        lost = notifications.server_pid
        assert lost is not None
        async with pool.acquire() as conn:
            assert await conn.fetchval("SELECT pg_terminate_backend($1)", lost)
        await eventually(
            lambda: notifications.server_pid not in (None, lost), timeout=10, what="reconnected"
        )
        envelope = _envelope()
        async with pool.acquire() as conn, conn.transaction():
            await enqueue(conn=conn, schema=outbox_schema, envelopes=[envelope])
        await eventually(lambda: envelope.id in received, timeout=5)
    finally:
        await relay.stop()


async def test_relay_cancelled_mid_batch_loses_nothing(
    pool: Any, notifications: Any, outbox_schema: str, make_bus: Any
) -> None:
    bus = await make_bus(queues=(QUEUE,))
    received: list[str] = []
    await _collector(bus, received)
    envelopes = [_envelope() for _ in range(300)]
    async with pool.acquire() as conn, conn.transaction():
        await enqueue(conn=conn, schema=outbox_schema, envelopes=envelopes)
    publish = bus.publish_encoded
    halfway = asyncio.Event()

    async def pause_halfway(messages: Sequence[Outgoing]) -> None:
        # half the batch reaches the bus, then the relay is cancelled before it commits
        await publish(messages[: len(messages) // 2])
        halfway.set()
        await asyncio.sleep(3600)

    bus.publish_encoded = pause_halfway
    relay = OutboxRelay(
        pool=pool, notifications=notifications, bus=bus, schema=outbox_schema, batch_size=50
    )
    task = asyncio.create_task(relay.relay_once())
    await asyncio.wait_for(halfway.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    bus.publish_encoded = publish
    async with pool.acquire() as conn:
        assert await pending(conn=conn, schema=outbox_schema) == 300, "the cancelled batch stays"
    while await relay.relay_once():
        pass
    await eventually(lambda: {e.id for e in envelopes} <= set(received))
    assert len(received) == 325, "the 25 published before the cancel come again"


@pytest.mark.slow
@pytest.mark.parametrize("bus_kind", ["rabbitmq"])
async def test_relay_process_killed_mid_batch_loses_nothing(
    pool: Any,
    notifications: Any,
    outbox_schema: str,
    database_url: str,
    amqp_url: str,
    namespace: str,
    make_bus: Any,
) -> None:
    bus = await make_bus(queues=(QUEUE,))
    received: list[str] = []
    await _collector(bus, received)
    envelopes = [_envelope() for _ in range(100)]
    async with pool.acquire() as conn, conn.transaction():
        await enqueue(conn=conn, schema=outbox_schema, envelopes=envelopes)
    script = Path(__file__).with_name("relay_process.py")
    process = subprocess.Popen(
        [sys.executable, str(script), database_url, amqp_url, namespace, outbox_schema],
        env={**os.environ},
    )
    try:
        await eventually(lambda: len(received) >= 1, timeout=20)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    async with pool.acquire() as conn:
        left = await pending(conn=conn, schema=outbox_schema)
    assert 0 < left <= 100, "the kill should land while the first batch is uncommitted"
    relay = OutboxRelay(pool=pool, notifications=notifications, bus=bus, schema=outbox_schema)
    while await relay.relay_once():
        pass
    await eventually(lambda: {e.id for e in envelopes} <= set(received))
    assert len(received) > len(set(received)), "the uncommitted batch is published again"


async def test_duplicate_delivery_changes_nothing(
    pool: Any, notifications: Any, outbox_schema: str, make_bus: Any
) -> None:
    bus = await make_bus(queues=(QUEUE,))
    async with pool.acquire() as conn:
        await conn.execute(f"CREATE TABLE {outbox_schema}.counter (n int NOT NULL)")
        await conn.execute(f"INSERT INTO {outbox_schema}.counter VALUES (0)")
    deliveries: list[str] = []

    async def handle(delivery: Delivery) -> None:
        async with pool.acquire() as conn, conn.transaction():
            if await first_delivery(
                conn=conn, schema=outbox_schema, consumer="counter", message_id=delivery.envelope.id
            ):
                await conn.execute(f"UPDATE {outbox_schema}.counter SET n = n + 1")
        deliveries.append(delivery.envelope.id)  # handled: its transaction committed

    await bus.subscribe(QUEUE, ["event.ingested"], handle)
    envelope = _envelope()
    await bus.publish([envelope])
    await bus.publish([envelope])
    await eventually(lambda: len(deliveries) == 2)
    assert await pool.fetchval(f"SELECT n FROM {outbox_schema}.counter") == 1
