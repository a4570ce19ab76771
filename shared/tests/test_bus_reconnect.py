"""The RabbitMQ bus reconnects after the broker drops it and its consumers resume."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from uuid import uuid4

import pytest

from rampart.core.bus import Delivery, Topology
from rampart.core.bus.rabbitmq import RabbitBus
from rampart.core.envelope import Envelope
from rampart.core.messages import EventIngested
from tests._bus import delete_namespace
from tests._eventually import eventually

pytestmark = [pytest.mark.rabbitmq, pytest.mark.slow]


def _close_connection(name: str) -> int:
    listing = subprocess.run(
        ["rabbitmqctl", "-q", "list_connections", "pid", "client_properties"],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout  # fmt: skip
    # the bus's publishing connection is called ``name``, its consuming one ``name/consume``
    pids = [line.split("\t", 1)[0] for line in listing.splitlines() if f'"{name}' in line]
    for pid in pids:
        subprocess.run(
            ["rabbitmqctl", "-q", "close_connection", pid, "test: simulated broker drop"],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
    return len(pids)


async def test_consumer_resumes_after_the_connection_is_dropped(
    amqp_url: str, namespace: str
) -> None:
    if shutil.which("rabbitmqctl") is None:
        pytest.skip(
            "rabbitmqctl (package rabbitmq-server) is needed to drop the connection "
            "from the broker side"
        )
    name = f"reconnect-{uuid4().hex[:8]}"
    bus = RabbitBus(amqp_url, topology=Topology(namespace), connection_name=name)
    received: list[str] = []

    async def handle(delivery: Delivery) -> None:
        received.append(delivery.envelope.id)

    def envelope() -> Envelope:
        message = EventIngested(event_id=uuid4(), source="t", name="n", severity="low")
        return Envelope.wrap(message, source="test")

    await bus.start()
    try:
        await bus.subscribe("test.reconnect", ["event.ingested"], handle)
        before = envelope()
        await bus.publish([before])

        async def got_before() -> bool:
            return before.id in received

        await eventually(got_before, timeout=10)
        assert await asyncio.to_thread(_close_connection, name) == 2

        async def disconnected_then_ready() -> bool:
            return await bus.is_ready()

        await asyncio.sleep(0.5)
        await eventually(disconnected_then_ready, timeout=30)
        after = envelope()
        for _ in range(50):
            try:
                await bus.publish([after])
                break
            except Exception:  # the channel may still be restoring
                await asyncio.sleep(0.2)

        async def got_after() -> bool:
            return after.id in received

        await eventually(got_after, timeout=30)
    finally:
        await bus.close()
        await delete_namespace(amqp_url, namespace, ["test.reconnect"])


async def test_a_handler_in_flight_when_the_connection_drops_finishes_its_work(
    amqp_url: str, namespace: str
) -> None:
    """A broker blip must not kill a handler halfway (an action mid-run): the work completes,
    only its acknowledgement is lost, and the redelivery arrives for the inbox to recognise."""
    if shutil.which("rabbitmqctl") is None:
        pytest.skip("rabbitmqctl (package rabbitmq-server) is needed to drop the connection")
    name = f"inflight-{uuid4().hex[:8]}"
    bus = RabbitBus(amqp_url, topology=Topology(namespace), connection_name=name)
    started = asyncio.Event()
    release = asyncio.Event()
    finished: list[str] = []
    seen: list[str] = []

    async def handle(delivery: Delivery) -> None:
        seen.append(delivery.envelope.id)
        if len(seen) == 1:
            started.set()
            await release.wait()
        finished.append(delivery.envelope.id)

    message = EventIngested(event_id=uuid4(), source="t", name="n", severity="low")
    sent = Envelope.wrap(message, source="test")
    await bus.start()
    try:
        await bus.subscribe("test.inflight", ["event.ingested"], handle)
        await bus.publish([sent])
        await asyncio.wait_for(started.wait(), 10)
        assert await asyncio.to_thread(_close_connection, name) == 2

        async def redelivered() -> bool:
            return seen.count(sent.id) >= 2

        # the bus noticed the drop and reconnected: the broker hands the unacknowledged
        # message to the new consumer while the first handler is still at work
        await eventually(redelivered, timeout=30)
        release.set()

        async def both_finished() -> bool:
            return finished.count(sent.id) == 2

        # the first delivery's work ran to its end instead of being cancelled with its channel
        await eventually(both_finished, timeout=10)
    finally:
        await bus.close()
        await delete_namespace(amqp_url, namespace, ["test.inflight"])


async def test_start_fails_in_time_when_the_broker_never_answers_the_handshake() -> None:
    """A node that takes the TCP connection and says nothing (a wedged one) fails start()."""
    accepted: list[asyncio.StreamWriter] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)  # keep it open, answer nothing

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    bus = RabbitBus(f"amqp://guest:guest@127.0.0.1:{port}/", connect_timeout_s=0.5)
    loop = asyncio.get_running_loop()
    began = loop.time()
    try:
        with pytest.raises((TimeoutError, asyncio.TimeoutError)):
            await asyncio.wait_for(bus.start(), timeout=20)
        assert loop.time() - began < 10
        assert accepted, "the bus reached the listener"
    finally:
        for writer in accepted:
            writer.close()
        server.close()
        await server.wait_closed()
