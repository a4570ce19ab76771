"""A consumer in a child process, as in distributed mode where each service runs on its own.

The child subscribes with its own ``RabbitBus``, says ``ready``, and says ``done`` once it
has received every expected message id; the parent waits for those words on a pipe.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from bench._common import CONSUMER_QUEUE, ROUTING_KEY, TIMEOUT_S, wait_all
from rampart.core.bus import Delivery, Topology


def counter(ids: set[str]) -> tuple[Callable[[Delivery], Any], asyncio.Event]:
    """A handler that sets the event once a delivery of every id in ``ids`` arrived."""
    received: set[str] = set()
    done = asyncio.Event()

    async def handler(delivery: Delivery) -> None:
        # counted by id: a redelivery or a straggler of an earlier round does not count
        message_id = delivery.envelope.id
        if message_id in ids:
            received.add(message_id)
            if len(received) == len(ids):
                done.set()

    return handler, done


def _child(amqp_url: str, namespace: str, ids: list[str], pipe: Connection) -> None:
    try:
        asyncio.run(_consume(amqp_url, namespace, set(ids), pipe))
    except BaseException as exc:
        with contextlib.suppress(Exception):
            pipe.send(f"error: {type(exc).__name__}: {exc}")
        raise


async def _consume(amqp_url: str, namespace: str, ids: set[str], pipe: Connection) -> None:
    from rampart.core.bus.rabbitmq import RabbitBus

    bus = RabbitBus(amqp_url, topology=Topology(namespace))
    await bus.start()
    try:
        handler, done = counter(ids)
        await bus.subscribe(CONSUMER_QUEUE, [ROUTING_KEY], handler)
        pipe.send("ready")
        await wait_all(done, "consumer process")
        pipe.send("done")
    finally:
        await bus.close()


class RemoteConsumer:
    """Start with ``await RemoteConsumer.start(...)``; ``done`` is set when all arrived."""

    def __init__(self, process: Any, pipe: Connection) -> None:
        self.done = asyncio.Event()
        self._process = process
        self._pipe = pipe
        self._words: asyncio.Queue[str] = asyncio.Queue()
        asyncio.get_running_loop().add_reader(pipe.fileno(), self._readable)

    @classmethod
    async def start(cls, amqp_url: str, namespace: str, ids: list[str]) -> RemoteConsumer:
        """Spawn the child and return once it consumes."""
        ctx = multiprocessing.get_context("spawn")
        mine, theirs = ctx.Pipe()
        process = ctx.Process(
            target=_child, args=(amqp_url, namespace, ids, theirs), name="bench-consumer"
        )
        process.start()
        theirs.close()
        consumer = cls(process, mine)
        try:
            await consumer._expect("ready")
        except BaseException:
            await consumer.close()
            raise
        return consumer

    @property
    def pid(self) -> int:
        """The child's process id."""
        return int(self._process.pid)

    def _readable(self) -> None:
        try:
            word = str(self._pipe.recv())
        except EOFError:
            word = "error: the consumer process exited"
            asyncio.get_running_loop().remove_reader(self._pipe.fileno())
        if word == "done":
            self.done.set()
        self._words.put_nowait(word)

    async def _expect(self, expected: str) -> None:
        try:
            word = await asyncio.wait_for(self._words.get(), TIMEOUT_S)
        except TimeoutError:
            raise RuntimeError(f"the consumer process did not say {expected!r}") from None
        if word != expected:
            raise RuntimeError(f"the consumer process said {word!r}, not {expected!r}")

    async def wait_done(self) -> None:
        """Wait for ``done``; an error word from the child raises."""
        await self._expect("done")

    async def close(self) -> None:
        """Wait for the child to exit (it closes its bus itself); stop it if it hangs."""
        with contextlib.suppress(Exception):
            asyncio.get_running_loop().remove_reader(self._pipe.fileno())
        await asyncio.to_thread(self._process.join, 30)
        if self._process.is_alive():
            self._process.terminate()
            await asyncio.to_thread(self._process.join, 5)
        self._pipe.close()
