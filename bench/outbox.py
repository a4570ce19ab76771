"""Rampart's path: ``enqueue`` → ``OutboxRelay`` → ``Bus`` → a subscribed consumer."""

from __future__ import annotations

import asyncio
import cProfile
import io
import pstats
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from bench._common import (
    CONSUMER_QUEUE,
    ROUTING_KEY,
    SINK_QUEUE,
    Figure,
    Settings,
    batches,
    delete_queues,
    make_envelopes,
    wait_all,
)
from bench.cpu import CpuMeter, CpuShare
from bench.remote import RemoteConsumer, counter
from rampart.core.bus import Bus, Delivery, MemoryBus, Outgoing
from rampart.core.envelope import Envelope
from rampart.core.outbox import OutboxRelay, enqueue
from rampart.core.store import Notifications

BusKind = Literal["rabbitmq", "memory"]
# where the consumer runs: in this event loop, in a child process, or nowhere
ConsumerMode = Literal["same", "process", "none"]


def _make_bus(settings: Settings, kind: BusKind) -> Bus:
    if kind == "memory":
        return MemoryBus(topology=settings.topology)
    from rampart.core.bus.rabbitmq import RabbitBus

    return RabbitBus(settings.amqp_url, topology=settings.topology)


def _counter(envelopes: Sequence[Envelope]) -> tuple[Callable[[Delivery], Any], asyncio.Event]:
    return counter({e.id for e in envelopes})


async def outbox_rate(
    settings: Settings,
    pool: Any,
    kind: BusKind,
    enqueued: Figure | None = None,
    *,
    consumer: ConsumerMode = "same",
) -> Figure:
    """Messages/s from relay start until the consumer has all ``n``; best of the repetitions.

    ``consumer="process"`` subscribes in a child process instead (RabbitMQ only);
    ``consumer="none"`` subscribes nobody: the messages go to a queue nobody reads and the
    clock stops once the relay has published them all (RabbitMQ only). ``enqueued``, if
    given, also receives the rate of filling the outbox with ``enqueue``.
    """
    label = "RabbitBus" if kind == "rabbitmq" else "MemoryBus"
    name = {
        "same": f"outbox → {label} → consumer",
        "process": f"outbox → {label} → consumer in another process",
        "none": f"outbox → {label}, no consumer",
    }[consumer]
    figure = Figure(name, "msg/s")
    rounds = [settings.warmup] * bool(settings.warmup) + [settings.n] * settings.repeat
    for i, n in enumerate(rounds):
        result = await _outbox_round(settings, pool, kind, n, consumer=consumer)
        if i >= len(rounds) - settings.repeat:
            if figure.add(n, result.elapsed, result.cpu):
                figure.notes = result.notes
            if enqueued is not None:
                enqueued.add(n, result.enqueue_s)
    return figure


@dataclass(slots=True)
class _Round:
    elapsed: float
    enqueue_s: float
    cpu: CpuShare | None
    notes: list[str]


class _RelayTimer:
    """Times ``relay_once`` and the ``bus.publish_encoded`` inside it, over completed batches."""

    def __init__(self, relay: OutboxRelay, bus: Bus) -> None:
        self.relay_s = 0.0
        self.publish_s = 0.0
        self.batches = 0
        self._publish_s = 0.0
        relay_once = relay.relay_once
        publish = bus.publish_encoded

        async def timed_publish(messages: Sequence[Outgoing]) -> None:
            start = time.perf_counter()
            try:
                await publish(messages)
            finally:
                self._publish_s += time.perf_counter() - start

        async def timed_relay_once() -> int:
            start, before = time.perf_counter(), self._publish_s
            sent = await relay_once()
            if sent:
                # only now, so a batch still in flight when the clock stops is left out
                self.relay_s += time.perf_counter() - start
                self.publish_s += self._publish_s - before
                self.batches += 1
            return sent

        bus.publish_encoded = timed_publish  # type: ignore[method-assign]
        relay.relay_once = timed_relay_once  # type: ignore[method-assign]

    def describe(self, elapsed: float, batch: int) -> str:
        per_batch = 1000 / max(self.batches, 1)
        share = self.publish_s / max(self.relay_s, 1e-9)
        return (
            f"relay_once ran {self.relay_s / elapsed:.0%} of the wall time; of that, "
            f"bus.publish_encoded {share:.0%} ({self.publish_s * per_batch:.1f} ms per batch of "
            f"{batch}), claim (DELETE ... RETURNING) + COMMIT {1 - share:.0%} "
            f"({(self.relay_s - self.publish_s) * per_batch:.1f} ms per batch)"
        )


async def _outbox_round(
    settings: Settings,
    pool: Any,
    kind: BusKind,
    n: int,
    profiler: cProfile.Profile | None = None,
    *,
    consumer: ConsumerMode = "same",
) -> _Round:
    if consumer != "same" and kind != "rabbitmq":
        raise ValueError(f"consumer={consumer!r} needs RabbitMQ")
    bus = _make_bus(settings, kind)
    await bus.start()
    relay: OutboxRelay | None = None
    sink: _Sink | None = None
    remote: RemoteConsumer | None = None
    try:
        envelopes = make_envelopes(n)
        handler, done = _counter(envelopes)
        if consumer == "same":
            await bus.subscribe(CONSUMER_QUEUE, [ROUTING_KEY], handler)
        elif consumer == "process":
            remote = await RemoteConsumer.start(
                settings.amqp_url, settings.namespace, [e.id for e in envelopes]
            )
        else:
            sink = await _Sink.open(settings)

        async with pool.acquire() as conn:
            start = time.perf_counter()
            for batch in batches(envelopes, settings.batch):
                async with conn.transaction():
                    await enqueue(conn=conn, schema=settings.schema, envelopes=batch)
            enqueue_s = time.perf_counter() - start

        published = 0

        def on_published(count: int) -> None:
            nonlocal published
            published += count
            if consumer == "none" and published >= n:
                done.set()

        notifications = Notifications(settings.database_url)
        await notifications.start()
        relay = OutboxRelay(
            pool=pool,
            notifications=notifications,
            bus=bus,
            schema=settings.schema,
            batch_size=settings.batch,
            on_published=on_published,
        )
        timer = _RelayTimer(relay, bus)
        pids = {} if remote is None else {remote.pid: "consumer process"}
        with CpuMeter(pids) as cpu:
            if profiler is not None:
                profiler.enable()
            start = time.perf_counter()
            await relay.start()
            if remote is not None:
                await remote.wait_done()
            else:
                await wait_all(done, f"outbox → {kind}")
            elapsed = time.perf_counter() - start
            note = timer.describe(elapsed, settings.batch)
            if profiler is not None:
                profiler.disable()
    finally:
        if relay is not None:
            await relay.stop()
            await notifications.close()
        await bus.close()
        if sink is not None:
            await sink.close()
        if remote is not None:
            await remote.close()
        if consumer != "none" and kind == "rabbitmq":
            # one bound queue at a time: the next measurement's messages must not pile up here
            topology = settings.topology
            await delete_queues(
                settings, [topology.queue(CONSUMER_QUEUE), topology.dead_queue(CONSUMER_QUEUE)]
            )
    return _Round(elapsed, enqueue_s, cpu.share, [note])


@dataclass(slots=True)
class _Sink:
    """A quorum queue bound like the consumer's but never read, deleted when closed."""

    connection: Any
    queue: Any

    @classmethod
    async def open(cls, settings: Settings) -> _Sink:
        import aio_pika

        connection = await aio_pika.connect(settings.amqp_url)
        channel = await connection.channel()
        topology = settings.topology
        queue = await channel.declare_queue(
            topology.queue(SINK_QUEUE), durable=True, arguments={"x-queue-type": "quorum"}
        )
        await queue.bind(topology.exchange, routing_key=ROUTING_KEY)
        return cls(connection, queue)

    async def close(self) -> None:
        try:
            await self.queue.delete(if_unused=False, if_empty=False)
        finally:
            await self.connection.close()


async def memory_bus_rate(settings: Settings) -> Figure:
    """The in-process bus alone: ``publish`` in batches → the consumer has all ``n``."""
    figure = Figure("MemoryBus alone publish → consumer", "msg/s")
    rounds = [settings.warmup] * bool(settings.warmup) + [settings.n] * settings.repeat
    for i, n in enumerate(rounds):
        bus = MemoryBus(topology=settings.topology)
        await bus.start()
        try:
            envelopes = make_envelopes(n)
            handler, done = _counter(envelopes)
            await bus.subscribe(CONSUMER_QUEUE, [ROUTING_KEY], handler)
            with CpuMeter() as cpu:
                start = time.perf_counter()
                for batch in batches(envelopes, settings.batch):
                    await bus.publish(batch)
                await wait_all(done, "MemoryBus alone")
                elapsed = time.perf_counter() - start
        finally:
            await bus.close()
        if i >= len(rounds) - settings.repeat:
            figure.add(n, elapsed, cpu.share)
    return figure


async def profile_outbox(settings: Settings, pool: Any, kind: BusKind, top: int = 18) -> str:
    """cProfile of one outbox round on ``kind``: the functions with the most own time."""
    profiler = cProfile.Profile()
    await _outbox_round(settings, pool, kind, settings.n, profiler)
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats(pstats.SortKey.TIME).print_stats(top)
    return out.getvalue()
