"""Typed queues run by the platform: handlers per model, the inbox, dead letters, state, publish.

Each case declares a small probe service (a ``ServiceSpec`` with one ``Queue``), runs it with
``run_services`` on the test's bus kind — in-process and RabbitMQ — and drives it through the
bus the way another service would.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

import pytest
from pydantic import SecretStr

from rampart.core.bus import Bus, Delivery, MemoryBus, Outgoing, Topology
from rampart.core.consumers import AfterCommit, Queue
from rampart.core.crypto import Keyring
from rampart.core.envelope import Envelope
from rampart.core.errors import FieldError, TransientError
from rampart.core.messages import EventIngested, EventUpdated, TaskCreated
from rampart.core.outbox import Publisher
from rampart.core.runtime import LifespanState, Resources, ServiceSpec, run_services
from rampart.core.settings import Settings
from rampart.core.store import Connection, Pool
from tests._bus import delete_namespace
from tests._eventually import eventually

QUEUE = "probe.work"
OUTSIDE = "probe.outside"
MIGRATIONS = "shared.tests.probe_service"


def ingested(**fields: Any) -> EventIngested:
    return EventIngested(
        **{"event_id": uuid4(), "source": "test", "name": "n", "severity": "high", **fields}
    )


def task_created() -> TaskCreated:
    return TaskCreated(event_id=uuid4(), task_id=uuid4(), phase="triage", name="look")


def wrap(message: Any, **options: Any) -> Envelope:
    return Envelope.wrap(message, source="test/sender", **options)


@dataclass
class Probe:
    """What the probe's handlers saw; a handler appends to it."""

    calls: list[tuple[str, Any]] = field(default_factory=list)

    def of(self, kind: str) -> list[Any]:
        return [value for k, value in self.calls if k == kind]


@pytest.fixture
async def bus(bus_kind: str, namespace: str, request: pytest.FixtureRequest) -> AsyncIterator[Bus]:
    """A bus of ``bus_kind``, not started: ``run_services`` starts and closes it."""
    options: dict[str, Any] = {"retry_delay_ms": 10, "delivery_limit": 3}
    if bus_kind == "memory":
        yield MemoryBus(topology=Topology(namespace), **options)
        return
    from rampart.core.bus.rabbitmq import RabbitBus

    amqp_url = request.getfixturevalue("amqp_url")
    yield RabbitBus(amqp_url, topology=Topology(namespace), **options)
    await delete_namespace(amqp_url, namespace, [QUEUE, OUTSIDE])


@pytest.fixture
def settings(database_url: str, namespace: str) -> Settings:
    return Settings(
        database_url=SecretStr(database_url),
        master_key=SecretStr(Keyring.generate_key_text()),
        bus_namespace=namespace,
    )


Start = Callable[..., contextlib.AbstractAsyncContextManager[LifespanState]]


@pytest.fixture
def start(settings: Settings, bus: Bus, schema: str) -> Start:
    """Run a probe service with ``queue`` (and ``state``/``workers``) on this test's bus."""

    def run(queue: Queue, **spec: Any) -> contextlib.AbstractAsyncContextManager[LifespanState]:
        probe: ServiceSpec[Any] = ServiceSpec(
            name="probe", schema=schema, migrations_package=MIGRATIONS, queues=[queue], **spec
        )
        return run_services(settings, [probe], bus=bus)

    return run


async def record(conn: Connection, schema: str, delivery: Delivery, subject: UUID) -> None:
    await conn.execute(
        f"INSERT INTO {schema}.received (message_id, message_type, subject_id, attempt) "
        "VALUES ($1, $2, $3, $4)",
        delivery.envelope.id,
        delivery.envelope.type,
        subject,
        delivery.attempt,
    )


async def received(pool: Pool, schema: str, message_id: str) -> int:
    count = await pool.fetchval(
        f"SELECT count(*) FROM {schema}.received WHERE message_id = $1", message_id
    )
    return int(count)


def handled(state: LifespanState, outcome: str = "ok", queue: str = QUEUE) -> float:
    """How many deliveries of ``queue`` ended with ``outcome``, by the platform's own count."""
    value = state["metrics"].registry.get_sample_value(
        "rampart_messages_handled_total", {"queue": queue, "outcome": outcome}
    )
    return value or 0.0


async def dead_letters(bus: Bus) -> list[Any]:
    return await bus.dead_letters(QUEUE)


async def test_a_handler_gets_its_typed_message_and_conn_inside_the_inbox_transaction(
    start: Start, bus: Bus, schema: str
) -> None:
    queue, probe = Queue(QUEUE), Probe()

    @queue.on(EventIngested)
    async def on_ingested(conn: Connection, message: EventIngested, delivery: Delivery) -> None:
        inbox = await conn.fetchval(
            f"SELECT count(*) FROM {schema}.inbox WHERE consumer = $1 AND message_id = $2",
            QUEUE,
            delivery.envelope.id,
        )
        probe.calls.append(("seen", (message, conn.is_in_transaction(), inbox)))
        await record(conn, schema, delivery, message.event_id)

    async with start(queue) as state:
        sent = ingested(name="typed")
        envelope = wrap(sent)
        await bus.publish([envelope])
        await eventually(lambda: probe.of("seen"))
        [(message, in_transaction, inbox)] = probe.of("seen")
        assert type(message) is EventIngested
        assert message == sent
        assert in_transaction, "the handler's conn is not inside a transaction"
        assert inbox == 1, "the inbox row is not written in the handler's transaction"
        assert await eventually(lambda: received(state["pool"], schema, envelope.id)) == 1


async def test_a_duplicate_delivery_of_one_envelope_changes_nothing(
    start: Start, bus: Bus, schema: str
) -> None:
    queue, probe = Queue(QUEUE), Probe()

    @queue.on(EventIngested)
    async def on_ingested(conn: Connection, message: EventIngested, delivery: Delivery) -> None:
        probe.calls.append(("handled", delivery.envelope.id))
        await record(conn, schema, delivery, message.event_id)

    async with start(queue) as state:
        envelope = wrap(ingested())
        await bus.publish([envelope])
        await eventually(lambda: handled(state) == 1)
        await bus.publish([envelope])  # the same id again, as a relay that died mid-batch sends it
        await eventually(lambda: handled(state) == 2, what="the duplicate was acknowledged")
        assert probe.of("handled") == [envelope.id]
        assert await received(state["pool"], schema, envelope.id) == 1
        assert await dead_letters(bus) == []


async def test_a_type_without_a_handler_is_dead_lettered_with_queue_and_type(
    start: Start, bus: Bus
) -> None:
    queue, probe = Queue(QUEUE), Probe()

    @queue.on(EventIngested)
    async def on_ingested(message: EventIngested) -> None:
        probe.calls.append(("handled", message))

    async with start(queue) as state:
        # a valid message of another type, routed with a key the queue is bound to
        stray = wrap(EventUpdated(event_id=uuid4(), changes={"status": "open"}))
        await bus.publish_encoded(
            [Outgoing(stray.id, stray.type, "event.ingested", stray.to_bytes())]
        )
        [dead] = await eventually(lambda: dead_letters(bus), what="a dead letter")
        assert dead.message_id == stray.id
        assert QUEUE in dead.reason
        assert "rampart.event.updated.v1" in dead.reason
        assert handled(state) == 0
        assert probe.calls == []


async def test_the_queue_is_bound_to_its_handlers_models(start: Start, bus: Bus) -> None:
    queue, probe = Queue(QUEUE), Probe()

    @queue.on(EventIngested)
    async def on_ingested(message: EventIngested) -> None:
        probe.calls.append(("ingested", message))

    @queue.on(TaskCreated)
    async def on_task(message: TaskCreated) -> None:
        probe.calls.append(("task", message))

    bindings: list[tuple[str, tuple[str, ...]]] = []
    subscribe = bus.subscribe

    async def recording_subscribe(
        name: str, patterns: Sequence[str], *args: Any, **kw: Any
    ) -> None:
        bindings.append((name, tuple(patterns)))
        await subscribe(name, patterns, *args, **kw)

    bus.subscribe = recording_subscribe  # type: ignore[method-assign]
    assert queue.models == (EventIngested, TaskCreated)
    async with start(queue):
        assert bindings == [(QUEUE, ("event.ingested", "task.created"))]
        first, second = ingested(), task_created()
        await bus.publish([wrap(first), wrap(second)])
        assert await eventually(lambda: probe.of("ingested")) == [first]
        assert await eventually(lambda: probe.of("task")) == [second]


async def test_a_field_error_is_dead_lettered_at_once_and_rolls_back(
    start: Start, bus: Bus, schema: str
) -> None:
    queue, probe = Queue(QUEUE), Probe()

    @queue.on(EventIngested)
    async def on_ingested(conn: Connection, message: EventIngested, delivery: Delivery) -> None:
        probe.calls.append(("attempt", delivery.attempt))
        await record(conn, schema, delivery, message.event_id)
        raise FieldError("name", "is not a name this service accepts")

    async with start(queue) as state:
        envelope = wrap(ingested())
        await bus.publish([envelope])
        [dead] = await eventually(lambda: dead_letters(bus), what="a dead letter")
        assert "FieldError" in dead.reason
        assert "name: is not a name this service accepts" in dead.reason
        assert probe.of("attempt") == [1], "a FieldError is permanent: it must not be retried"
        assert await received(state["pool"], schema, envelope.id) == 0


async def test_after_commit_work_runs_after_the_commit_and_never_after_a_rollback(
    start: Start, bus: Bus, schema: str
) -> None:
    queue, probe = Queue(QUEUE), Probe()

    @queue.on(EventIngested)
    async def on_ingested(
        conn: Connection,
        message: EventIngested,
        delivery: Delivery,
        after: AfterCommit,
        resources: Resources,
    ) -> None:
        attempt = delivery.attempt

        async def announce() -> None:
            # a connection of its own sees only what committed
            stored = await received(resources.pool, schema, delivery.envelope.id)
            probe.calls.append(("after commit", (attempt, stored)))

        after.add(announce)
        await record(conn, schema, delivery, message.event_id)
        if attempt == 1:
            raise TransientError("the first attempt fails after scheduling its work")

    async with start(queue) as state:
        await bus.publish([wrap(ingested())])
        await eventually(lambda: probe.of("after commit"))
        assert probe.of("after commit") == [(2, 1)]
        assert handled(state, "failed") == 1


async def test_a_parameter_nothing_provides_fails_the_start_naming_it(start: Start) -> None:
    queue = Queue(QUEUE)

    @queue.on(EventIngested)
    async def on_ingested(message: EventIngested, clock: datetime) -> None:
        raise AssertionError("never called")

    with pytest.raises(TypeError, match=r"on_ingested.*'clock'"):
        async with start(queue):
            pass


@dataclass
class ProbeState:
    """A service's own running state, as a state factory makes it."""

    resources: Resources
    log: list[str]
    open: bool = True


async def test_the_state_is_injected_and_entered_before_consumers_and_left_after(
    start: Start, bus: Bus
) -> None:
    queue, log = Queue(QUEUE), []
    subscribe = bus.subscribe

    async def logging_subscribe(name: str, *args: Any, **kw: Any) -> None:
        log.append(f"subscribe {name}")
        await subscribe(name, *args, **kw)

    bus.subscribe = logging_subscribe  # type: ignore[method-assign]

    @contextlib.asynccontextmanager
    async def probe_state(resources: Resources) -> AsyncIterator[ProbeState]:
        log.append("state entered")
        state = ProbeState(resources, log)
        yield state
        state.open = False
        log.append("state left")

    @contextlib.asynccontextmanager
    async def worker(state: ProbeState) -> AsyncIterator[None]:
        state.log.append("worker started")
        yield
        state.log.append("worker stopped")

    @queue.on(EventIngested)
    async def on_ingested(message: EventIngested, state: ProbeState) -> None:
        state.log.append(f"handled with an open state: {state.open}")

    async with start(queue, state=probe_state, workers=[worker]) as running:
        [kept] = [s for s in running["services"].values() if isinstance(s, ProbeState)]
        assert kept.resources.pool is running["pool"]
        await bus.publish([wrap(ingested())])
        await eventually(lambda: any(line.startswith("handled") for line in log))
        assert log[:3] == ["state entered", f"subscribe {QUEUE}", "worker started"]
        assert "state left" not in log
    assert log[3:] == ["handled with an open state: True", "worker stopped", "state left"]


async def test_a_handler_in_flight_at_stop_finishes_before_its_state_is_left(
    start: Start, bus: Bus
) -> None:
    queue, log = Queue(QUEUE), []
    began, release = asyncio.Event(), asyncio.Event()

    @contextlib.asynccontextmanager
    async def probe_state(resources: Resources) -> AsyncIterator[ProbeState]:
        state = ProbeState(resources, log)
        yield state
        state.open = False
        log.append("state left")

    @queue.on(EventIngested)
    async def on_ingested(message: EventIngested, state: ProbeState) -> None:
        began.set()
        await release.wait()
        state.log.append(f"finished with an open state: {state.open}")

    async with start(queue, state=probe_state) as running:
        del running
        await bus.publish([wrap(ingested())])
        await asyncio.wait_for(began.wait(), 20)
        # the stop begins while the handler runs; it may finish only once the stop waits on it
        asyncio.get_running_loop().call_later(0.2, release.set)
    assert log == ["finished with an open state: True", "state left"]


async def test_publisher_writes_to_the_outbox_with_the_causes_correlation(
    start: Start, bus: Bus, schema: str
) -> None:
    queue, outside = Queue(QUEUE), []
    publish = Publisher(schema=schema, source="rampart/probe")

    @queue.on(EventIngested)
    async def on_ingested(conn: Connection, message: EventIngested, cause: Envelope) -> None:
        [out] = await publish(
            conn,
            EventUpdated(event_id=message.event_id, changes={"status": "triaged"}),
            subject=str(message.event_id),
            cause=cause,
        )
        stored = await conn.fetchval(
            f"SELECT count(*) FROM {schema}.outbox WHERE message_id = $1", out.id
        )
        assert stored == 1, "the publisher did not write to the outbox in the handler's transaction"

    async def keep(delivery: Delivery) -> None:
        outside.append(delivery)

    async with start(queue):
        # bound like a tool outside Rampart would bind its own queue
        await bus.subscribe(OUTSIDE, ["event.updated"], keep)
        message = ingested()
        cause = wrap(message, correlation_id="chain-42")
        await bus.publish([cause])
        [delivery] = await eventually(lambda: outside, what="the published event.updated")
    envelope = delivery.envelope
    assert envelope.correlationid == "chain-42"
    assert envelope.causationid == cause.id
    assert envelope.source == "rampart/probe"
    assert envelope.subject == str(message.event_id)
    assert delivery.message == EventUpdated(
        event_id=message.event_id, changes={"status": "triaged"}
    )
