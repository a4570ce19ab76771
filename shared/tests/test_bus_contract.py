"""One contract for every ``Bus``: routing, retries, dead letters, competing consumers, acks.

``BusContract`` holds the cases; each implementation subclasses it once and provides the
``make_bus`` and ``publish_raw`` fixtures. ``make_bus()`` returns a started bus on the test's
namespace: a new connection for RabbitMQ, the one shared instance for the in-process bus (its
"second consumer" is a second ``subscribe`` on the same queue).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from uuid import uuid4

import aio_pika
import pytest
from aio_pika.exceptions import ChannelPreconditionFailed

from rampart.core.bus import Bus, DeadLetter, Delivery, Handler, Outgoing, Topology, Unpublishable
from rampart.core.bus.memory import MemoryBus
from rampart.core.bus.rabbitmq import RabbitBus
from rampart.core.envelope import Envelope
from rampart.core.errors import PermanentError, TransientError
from rampart.core.messages import EventIngested, EventUpdated, TaskCreated
from tests._eventually import eventually

BusFactory = Callable[[], Awaitable[Bus]]
RawPublisher = Callable[[str, bytes], Awaitable[None]]

DELIVERY_LIMIT = 3
BUS_OPTIONS: dict[str, Any] = {
    "delivery_limit": DELIVERY_LIMIT,
    "retry_delay_ms": 10,
    "prefetch": 8,
    "shutdown_grace_s": 0.5,
}
# every logical queue a case may use, so teardown can delete them from the broker
QUEUES = ("main", "star", "all", "exact")


def ingested() -> Envelope:
    msg = EventIngested(event_id=uuid4(), source="test", name="suspicious login", severity="high")
    return Envelope.wrap(msg, source="test")


def updated() -> Envelope:
    return Envelope.wrap(EventUpdated(event_id=uuid4(), changes={"status": "open"}), source="test")


def task_created() -> Envelope:
    msg = TaskCreated(event_id=uuid4(), task_id=uuid4(), phase="triage", name="look")
    return Envelope.wrap(msg, source="test")


def recorder(into: list[Delivery]) -> Handler:
    async def handle(delivery: Delivery) -> None:
        into.append(delivery)

    return handle


async def dead_count(bus: Bus, queue: str, expected: int) -> bool:
    return len(await bus.dead_letters(queue)) == expected


class BusContract:
    """The semantics every ``Bus`` keeps."""

    @pytest.fixture
    def make_bus(self) -> BusFactory:
        raise NotImplementedError

    @pytest.fixture
    def publish_raw(self) -> RawPublisher:
        raise NotImplementedError

    @pytest.fixture
    async def bus(self, make_bus: BusFactory) -> Bus:
        return await make_bus()

    @pytest.fixture
    async def table(self, pool: Any, schema: str) -> AsyncIterator[str]:
        await pool.execute(
            f'CREATE SCHEMA "{schema}";'
            f'CREATE TABLE "{schema}".handled (message_id text PRIMARY KEY, attempt int NOT NULL)'
        )
        yield f'"{schema}".handled'
        await pool.execute(f'DROP SCHEMA "{schema}" CASCADE')

    async def test_ready_until_closed(self, bus: Bus) -> None:
        assert await bus.is_ready()
        await bus.close()
        assert not await bus.is_ready()
        with pytest.raises(TransientError):
            await bus.publish([ingested()])

    async def test_topic_patterns(self, bus: Bus) -> None:
        seen: dict[str, list[Delivery]] = {"star": [], "all": [], "exact": []}
        for queue, pattern in (("star", "event.*"), ("all", "#"), ("exact", "task.created")):
            await bus.subscribe(queue, [pattern], recorder(seen[queue]))

        await bus.publish([task_created()])
        await bus.publish([ingested(), updated()])

        await eventually(lambda: [len(seen[q]) for q in ("star", "all", "exact")] == [2, 3, 1])
        await asyncio.sleep(0.2)  # room for a wrongly routed straggler to show up
        keys = {q: sorted(d.envelope.routing_key for d in seen[q]) for q in seen}
        assert keys == {
            "star": ["event.ingested", "event.updated"],
            "all": ["event.ingested", "event.updated", "task.created"],
            "exact": ["task.created"],
        }
        assert {d.queue for d in seen["star"]} == {"star"}

    async def test_a_batch_holding_an_unpublishable_message_sends_nothing_and_names_it(
        self, bus: Bus
    ) -> None:
        seen: list[Delivery] = []
        await bus.subscribe("all", ["#"], recorder(seen))
        bus.max_message_bytes = 4096
        big = EventIngested(event_id=uuid4(), source="test", name="x" * 5000, severity="low")
        batch = [
            Outgoing.of(ingested()),
            Outgoing.of(ingested()),
            Outgoing.of(Envelope.wrap(big, source="test")),
            Outgoing.of(ingested()),
        ]
        long_key = batch[1]
        batch[1] = Outgoing(long_key.message_id, long_key.type, "event." + "k" * 250, long_key.body)

        with pytest.raises(Unpublishable) as refused:
            await bus.publish_encoded(batch)

        assert sorted(refused.value.refused) == [1, 2]
        assert "routing key of 256 bytes" in refused.value.refused[1]
        assert "over the bus's 4,096-byte limit" in refused.value.refused[2]
        # nothing of the refused batch went out: the marker behind it is the only delivery
        marker = ingested()
        await bus.publish([marker])
        await eventually(lambda: len(seen) >= 1)
        assert [d.envelope.id for d in seen] == [marker.id]

    @pytest.mark.parametrize(
        "error",
        [RuntimeError, TransientError, asyncio.CancelledError],
        ids=["unexpected", "transient", "leaked-cancel"],
    )
    async def test_failed_handler_is_redelivered(
        self, bus: Bus, error: type[BaseException]
    ) -> None:
        deliveries: list[Delivery] = []

        async def flaky(delivery: Delivery) -> None:
            deliveries.append(delivery)
            if delivery.attempt == 1:
                raise error("flaky dependency")

        await bus.subscribe("main", ["event.*"], flaky)
        envelope = ingested()
        await bus.publish([envelope])

        await eventually(lambda: len(deliveries) == 2)
        await asyncio.sleep(0.1)
        assert [d.attempt for d in deliveries] == [1, 2]
        assert {d.envelope.id for d in deliveries} == {envelope.id}
        assert isinstance(deliveries[1].message, EventIngested)
        assert await bus.dead_letters("main") == []

    async def test_delivery_limit_then_dead_letter_and_replay(self, bus: Bus) -> None:
        attempts: list[tuple[str, int]] = []
        healthy = False

        async def handler(delivery: Delivery) -> None:
            attempts.append((delivery.envelope.id, delivery.attempt))
            if not healthy:
                raise TransientError("database still down")

        await bus.subscribe("main", ["event.*"], handler)
        envelope = ingested()
        await bus.publish([envelope])

        await eventually(lambda: dead_count(bus, "main", 1))
        assert attempts == [(envelope.id, n) for n in range(1, DELIVERY_LIMIT + 1)]
        [dead] = await bus.dead_letters("main")
        assert (dead.queue, dead.message_id, dead.type) == ("main", envelope.id, envelope.type)
        assert "TransientError" in dead.reason
        assert "database still down" in dead.reason
        assert dead.dead_lettered_at is not None
        assert Envelope.from_bytes(dead.body).id == envelope.id
        assert len(await bus.dead_letters("main")) == 1, "listing must not remove"

        healthy = True
        assert await bus.replay_dead_letters("main") == 1
        await eventually(lambda: len(attempts) == DELIVERY_LIMIT + 1)
        assert attempts[-1] == (envelope.id, 1)
        await eventually(lambda: dead_count(bus, "main", 0))

    async def test_permanent_error_dead_letters_at_once(self, bus: Bus) -> None:
        attempts: list[int] = []

        async def handler(delivery: Delivery) -> None:
            attempts.append(delivery.attempt)
            raise PermanentError("event belongs to no tenant")

        await bus.subscribe("main", ["event.*"], handler)
        envelope = ingested()
        await bus.publish([envelope])

        await eventually(lambda: dead_count(bus, "main", 1))
        await asyncio.sleep(0.1)
        assert attempts == [1]
        [dead] = await bus.dead_letters("main")
        assert dead.message_id == envelope.id
        assert "PermanentError" in dead.reason
        assert "event belongs to no tenant" in dead.reason

    async def test_invalid_messages_dead_letter_at_once(
        self, bus: Bus, publish_raw: RawPublisher
    ) -> None:
        handled: list[Delivery] = []
        await bus.subscribe("main", ["event.*"], recorder(handled))
        base = json.loads(ingested().to_bytes())
        await publish_raw("event.ingested", b"this is not a CloudEvent")
        await publish_raw(
            "event.ingested", json.dumps({**base, "type": "rampart.nothing.here.v1"}).encode()
        )
        await publish_raw(
            "event.ingested", json.dumps({**base, "data": {"event_id": "not-a-uuid"}}).encode()
        )
        good = ingested()
        await bus.publish([good])

        await eventually(lambda: dead_count(bus, "main", 3))
        await eventually(lambda: len(handled) == 1)
        assert [d.envelope.id for d in handled] == [good.id]
        reasons = sorted(d.reason for d in await bus.dead_letters("main"))
        assert all(r.startswith("InvalidMessage") for r in reasons), reasons
        assert any("not a CloudEvents envelope" in r for r in reasons), reasons
        assert any("no message model" in r for r in reasons), reasons
        assert any("data invalid" in r and "event_id" in r for r in reasons), reasons

    async def test_competing_consumers_each_message_once(self, make_bus: BusFactory) -> None:
        handled: dict[str, list[str]] = {"first": [], "second": []}

        def slowly(name: str) -> Handler:
            async def handle(delivery: Delivery) -> None:
                await asyncio.sleep(0.005)  # long enough that the other consumer gets a turn
                handled[name].append(delivery.envelope.id)

            return handle

        first, second = await make_bus(), await make_bus()
        await first.subscribe("main", ["event.*"], slowly("first"), prefetch=1)
        await second.subscribe("main", ["event.*"], slowly("second"), prefetch=1)
        envelopes = [ingested() for _ in range(50)]
        await first.publish(envelopes)

        await eventually(lambda: len(handled["first"]) + len(handled["second"]) >= 50)
        await asyncio.sleep(0.2)
        assert sorted(handled["first"] + handled["second"]) == sorted(e.id for e in envelopes)
        assert handled["first"]
        assert handled["second"]

    async def test_prefetch_bounds_messages_in_flight(self, bus: Bus) -> None:
        running: set[str] = set()
        peak = 0
        done: list[str] = []
        release = asyncio.Event()

        async def hold(delivery: Delivery) -> None:
            nonlocal peak
            running.add(delivery.envelope.id)
            peak = max(peak, len(running))
            await release.wait()
            running.discard(delivery.envelope.id)
            done.append(delivery.envelope.id)

        await bus.subscribe("main", ["event.*"], hold, prefetch=2)
        await bus.publish([ingested() for _ in range(6)])
        await eventually(lambda: len(running) == 2)
        await asyncio.sleep(0.2)  # room for a third delivery to show up if the bound leaked
        assert peak == 2
        release.set()
        await eventually(lambda: len(done) == 6)
        assert peak == 2

    async def test_ack_only_after_the_transaction_commits(
        self, bus: Bus, pool: Any, table: str
    ) -> None:
        attempts: list[int] = []

        async def handler(delivery: Delivery) -> None:
            attempts.append(delivery.attempt)
            async with pool.acquire() as conn, conn.transaction():
                await conn.execute(
                    f"INSERT INTO {table} VALUES ($1, $2)", delivery.envelope.id, delivery.attempt
                )
                if delivery.attempt == 1:
                    raise TransientError("failed before commit")

        await bus.subscribe("main", ["event.*"], handler)
        envelope = ingested()
        await bus.publish([envelope])

        await eventually(lambda: len(attempts) >= 2)
        await asyncio.sleep(0.1)
        rows = await pool.fetch(f"SELECT message_id, attempt FROM {table}")
        assert [tuple(r) for r in rows] == [(envelope.id, 2)]
        assert attempts == [1, 2]
        assert await bus.dead_letters("main") == []

    async def test_close_waits_for_running_handler_and_loses_nothing(
        self, make_bus: BusFactory, pool: Any, table: str
    ) -> None:
        envelopes = [ingested() for _ in range(4)]
        slow_started = asyncio.Event()

        async def insert(delivery: Delivery) -> None:
            async with pool.acquire() as conn, conn.transaction():
                await conn.execute(f"INSERT INTO {table} VALUES ($1, $2)", delivery.envelope.id, 1)
                if delivery.envelope.id == envelopes[1].id and not slow_started.is_set():
                    slow_started.set()
                    await asyncio.sleep(0.2)

        first = await make_bus()
        await first.subscribe("main", ["event.*"], insert, prefetch=1)
        await first.publish(envelopes)
        await asyncio.wait_for(slow_started.wait(), 10)
        await asyncio.wait_for(first.close(), 10)
        committed = {r["message_id"] for r in await pool.fetch(f"SELECT message_id FROM {table}")}
        assert committed == {envelopes[0].id, envelopes[1].id}, "close must await the handler"

        second = await make_bus()
        await second.subscribe("main", ["event.*"], insert, prefetch=1)
        await eventually(lambda: pool.fetchval(f"SELECT count(*) = 4 FROM {table}"))
        ids = {r["message_id"] for r in await pool.fetch(f"SELECT message_id FROM {table}")}
        assert ids == {e.id for e in envelopes}
        # a duplicate delivery would hit the primary key, fail and end up here
        assert await second.dead_letters("main") == []

    async def test_handler_stuck_at_close_is_redelivered(
        self, make_bus: BusFactory, pool: Any, table: str
    ) -> None:
        stuck = asyncio.Event()

        async def hang(delivery: Delivery) -> None:
            async with pool.acquire() as conn, conn.transaction():
                await conn.execute(f"INSERT INTO {table} VALUES ($1, $2)", delivery.envelope.id, 1)
                stuck.set()
                await asyncio.Event().wait()  # only close() cancelling it ends this

        first = await make_bus()
        await first.subscribe("main", ["event.*"], hang, prefetch=1)
        envelope = ingested()
        await first.publish([envelope])
        await asyncio.wait_for(stuck.wait(), 10)
        await asyncio.wait_for(first.close(), 10)
        assert await pool.fetchval(f"SELECT count(*) FROM {table}") == 0

        seen: list[str] = []

        async def insert(delivery: Delivery) -> None:
            seen.append(delivery.envelope.id)
            await pool.execute(f"INSERT INTO {table} VALUES ($1, $2)", delivery.envelope.id, 1)

        second = await make_bus()
        await second.subscribe("main", ["event.*"], insert)
        await eventually(lambda: pool.fetchval(f"SELECT count(*) = 1 FROM {table}"))
        assert seen == [envelope.id]


class TestMemoryBus(BusContract):
    @pytest.fixture
    async def memory_bus(self, namespace: str) -> AsyncIterator[MemoryBus]:
        bus = MemoryBus(topology=Topology(namespace), **BUS_OPTIONS)
        await bus.start()
        yield bus
        await bus.close()

    @pytest.fixture
    def make_bus(self, memory_bus: MemoryBus) -> BusFactory:
        async def factory() -> Bus:
            if not await memory_bus.is_ready():
                await memory_bus.start()  # a closed in-process bus restarts with its queues
            return memory_bus

        return factory

    @pytest.fixture
    def publish_raw(self, memory_bus: MemoryBus) -> RawPublisher:
        return memory_bus.publish_raw


@pytest.mark.rabbitmq
class TestRabbitBus(BusContract):
    @pytest.fixture
    async def make_bus(self, amqp_url: str, namespace: str) -> AsyncIterator[BusFactory]:
        topology = Topology(namespace)
        buses: list[RabbitBus] = []

        async def factory() -> Bus:
            bus = RabbitBus(amqp_url, topology=topology, publish_timeout_s=5.0, **BUS_OPTIONS)
            await bus.start()
            buses.append(bus)
            return bus

        yield factory
        for bus in buses:
            await bus.close()
        await delete_namespace(amqp_url, topology)

    @pytest.fixture
    async def publish_raw(self, amqp_url: str, namespace: str) -> AsyncIterator[RawPublisher]:
        connection = await aio_pika.connect(amqp_url)
        channel = await connection.channel()

        async def publish(routing_key: str, body: bytes) -> None:
            exchange = await channel.get_exchange(namespace)
            message = aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT)
            await exchange.publish(message, routing_key=routing_key)

        yield publish
        await connection.close()

    async def test_queues_are_quorum_with_a_delivery_limit(
        self, bus: RabbitBus, amqp_url: str, namespace: str
    ) -> None:
        await bus.subscribe("main", ["event.*"], recorder([]))
        args = bus.queue_arguments("main")
        assert args["x-queue-type"] == "quorum"
        assert args["x-delivery-limit"] > DELIVERY_LIMIT
        physical = Topology(namespace).queue("main")
        async with await aio_pika.connect(amqp_url) as connection:
            channel = await connection.channel()
            # the broker accepts an equivalent declaration and refuses any other
            await channel.declare_queue(physical, durable=True, arguments=args)
            for other in (
                {**args, "x-queue-type": "classic"},
                {**args, "x-delivery-limit": args["x-delivery-limit"] + 1},
            ):
                channel = await connection.channel()
                with pytest.raises(ChannelPreconditionFailed):
                    await channel.declare_queue(physical, durable=True, arguments=other)

    async def test_the_delivery_limit_holds_when_the_broker_counts_no_redelivery(
        self, make_bus: BusFactory, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """RabbitMQ 4.3+ stops counting a nack as a delivery. A queue whose broker counts
        nothing (a classic queue has no ``x-delivery-count``) stands in for it: the failed
        deliveries are still counted, and the message is dead-lettered at the limit."""
        plain = RabbitBus.queue_arguments

        def uncounted(self: RabbitBus, queue: str) -> dict[str, Any]:
            args = plain(self, queue)
            del args["x-delivery-limit"]
            return {**args, "x-queue-type": "classic"}

        monkeypatch.setattr(RabbitBus, "queue_arguments", uncounted)
        bus = await make_bus()
        attempts: list[int] = []

        async def handler(delivery: Delivery) -> None:
            attempts.append(delivery.attempt)
            raise TransientError("still down")

        await bus.subscribe("main", ["event.*"], handler)
        envelope = ingested()
        await bus.publish([envelope])
        await eventually(lambda: dead_count(bus, "main", 1))
        assert attempts == list(range(1, DELIVERY_LIMIT + 1))
        [dead] = await bus.dead_letters("main")
        assert dead.message_id == envelope.id
        assert "still down" in dead.reason

    async def test_dead_letter_carries_reason_headers(
        self, bus: RabbitBus, amqp_url: str, namespace: str
    ) -> None:
        async def refuse(delivery: Delivery) -> None:
            raise PermanentError("no such playbook")

        await bus.subscribe("main", ["event.*"], refuse)
        envelope = ingested()
        await bus.publish([envelope])
        await eventually(lambda: dead_count(bus, "main", 1))

        async with await aio_pika.connect(amqp_url) as connection:
            channel = await connection.channel()
            dead = await channel.get_queue(Topology(namespace).dead_queue("main"))
            message = await dead.get(no_ack=False)
            headers = message.headers
            assert message.message_id == envelope.id
            assert message.type == envelope.type
            assert message.content_type == "application/cloudevents+json"
            assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
            assert "no such playbook" in str(headers["x-rampart-reason"])
            assert headers["x-rampart-queue"] == "main"
            assert headers["x-rampart-dead-at"]
            await message.nack(requeue=True)
        letters: list[DeadLetter] = await bus.dead_letters("main")
        assert [d.message_id for d in letters] == [envelope.id]


async def delete_namespace(url: str, topology: Topology) -> None:
    """Delete every queue and exchange a test may have declared under ``topology``."""
    async with await aio_pika.connect(url) as connection:
        channel = await connection.channel()
        for name in QUEUES:
            await channel.queue_delete(topology.queue(name))
            await channel.queue_delete(topology.dead_queue(name))
        await channel.exchange_delete(topology.exchange)
        await channel.exchange_delete(topology.dead_letter_exchange)
