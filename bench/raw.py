"""The baselines: aio-pika publishing with confirms, and asyncpg inserting, without Rampart."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import Any

import aio_pika

from bench._common import ROUTING_KEY, Figure, Settings, batches, make_envelopes, wait_all
from bench.cpu import CpuMeter, CpuShare
from rampart.core.bus.rabbitmq import CONTENT_TYPE


async def publish_rate(settings: Settings, *, consume: bool = False) -> tuple[Figure, int]:
    """Persistent messages to a topic exchange bound to one durable quorum queue.

    Each batch of ``settings.batch`` is published concurrently and every confirm awaited
    before the next batch, as the relay does. The bodies are serialised envelopes made
    beforehand; building the AMQP message is timed, as any publisher has to. With
    ``consume``, a consumer in this event loop (its own channel, prefetch 32 like
    ``RabbitBus``, one ack per message) reads the queue and the clock stops once it has every
    message. Returns the figure and the body size in bytes.
    """
    name = "raw aio-pika publish → consume, ack each" if consume else "raw aio-pika publish"
    figure = Figure(name, "msg/s")
    connection = await aio_pika.connect(settings.amqp_url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.declare_exchange(
            settings.raw_exchange, aio_pika.ExchangeType.TOPIC, durable=True
        )
        queue = await channel.declare_queue(
            settings.raw_queue, durable=True, arguments={"x-queue-type": "quorum"}
        )
        await queue.bind(exchange, routing_key=ROUTING_KEY)
        size = 0
        rounds = [settings.warmup] * bool(settings.warmup) + [settings.n] * settings.repeat
        for i, n in enumerate(rounds):
            envelopes = make_envelopes(n)
            items = [(e.to_bytes(), e.id, e.type, e.time) for e in envelopes]
            size = len(items[0][0])
            await queue.purge()
            if consume:
                elapsed, cpu = await _publish_consume(connection, settings, exchange, items)
            else:
                with CpuMeter() as meter:
                    elapsed = await _publish_all(exchange, items, settings.batch)
                cpu = meter.share
            if i >= len(rounds) - settings.repeat:
                figure.add(n, elapsed, cpu)
        await queue.purge()
        # the queue would otherwise hold its backlog on disk until the clean-up
        await queue.delete(if_unused=False, if_empty=False)
        await exchange.delete()
    finally:
        await connection.close()
    return figure, size


async def _publish_consume(
    connection: aio_pika.abc.AbstractConnection,
    settings: Settings,
    exchange: aio_pika.abc.AbstractExchange,
    items: list[tuple[bytes, str, str, datetime]],
) -> tuple[float, CpuShare | None]:
    expected = {message_id for _, message_id, _, _ in items}
    received: set[str] = set()
    done = asyncio.Event()

    async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        await message.ack()
        if message.message_id in expected:
            received.add(message.message_id)
            if len(received) == len(expected):
                done.set()

    channel = await connection.channel(publisher_confirms=False)
    try:
        await channel.set_qos(prefetch_count=32)
        queue = await channel.get_queue(settings.raw_queue)
        tag = await queue.consume(on_message)
        with CpuMeter() as meter:
            start = time.perf_counter()
            await _publish_all(exchange, items, settings.batch)
            await wait_all(done, "raw publish → consume")
            elapsed = time.perf_counter() - start
        await queue.cancel(tag)
    finally:
        await channel.close()
    return elapsed, meter.share


async def _publish_all(
    exchange: aio_pika.abc.AbstractExchange,
    items: list[tuple[bytes, str, str, datetime]],
    batch_size: int,
) -> float:
    start = time.perf_counter()
    for batch in batches(items, batch_size):
        await asyncio.gather(
            *(
                exchange.publish(
                    aio_pika.Message(
                        body=body,
                        content_type=CONTENT_TYPE,
                        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                        message_id=message_id,
                        type=type_,
                        timestamp=timestamp,
                    ),
                    ROUTING_KEY,
                )
                for body, message_id, type_, timestamp in batch
            )
        )
    return time.perf_counter() - start


async def insert_rate(settings: Settings, pool: Any) -> Figure:
    """``executemany`` into a table shaped like the outbox, one transaction per batch."""
    figure = Figure("raw asyncpg executemany insert", "rows/s")
    table = f"{settings.schema}.raw_outbox"
    async with pool.acquire() as conn:
        await conn.execute(
            f"""CREATE TABLE {table} (
                seq bigserial PRIMARY KEY,
                message_id text NOT NULL UNIQUE,
                routing_key text NOT NULL,
                body bytea NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now())"""
        )
        sql = f"INSERT INTO {table} (message_id, routing_key, body) VALUES ($1, $2, $3)"
        rounds = [settings.warmup] * bool(settings.warmup) + [settings.n] * settings.repeat
        for i, n in enumerate(rounds):
            rows = [(e.id, e.routing_key, e.to_bytes()) for e in make_envelopes(n)]
            await conn.execute(f"TRUNCATE {table}")
            with CpuMeter() as cpu:
                start = time.perf_counter()
                for batch in batches(rows, settings.batch):
                    async with conn.transaction():
                        await conn.executemany(sql, batch)
                elapsed = time.perf_counter() - start
            if i >= len(rounds) - settings.repeat:
                figure.add(n, elapsed, cpu.share)
        await conn.execute(f"DROP TABLE {table}")
    return figure
