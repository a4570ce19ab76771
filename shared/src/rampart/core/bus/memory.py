"""The in-process bus: the same delivery semantics as RabbitMQ, durable for the process lifetime."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from rampart.core.bus._base import (
    Bus,
    DeadLetter,
    Handler,
    Outgoing,
    Topology,
    dispatch,
    topic_matches,
)
from rampart.core.errors import TransientError

log = logging.getLogger(__name__)

_DEFAULT_TOPOLOGY = Topology()


@dataclass(slots=True)
class _Item:
    body: bytes
    message_id: str
    type: str | None
    # like a quorum queue's x-delivery-count: how often it went back to the queue
    returned: int = 0


@dataclass(slots=True)
class _Queue:
    name: str
    patterns: set[str] = field(default_factory=set)
    ready: asyncio.Queue[_Item] = field(default_factory=asyncio.Queue)
    dead: deque[DeadLetter] = field(default_factory=deque)

    def routes(self, routing_key: str) -> bool:
        return any(topic_matches(p, routing_key) for p in self.patterns)


class MemoryBus(Bus):
    """A ``Bus`` inside one process: topic routing, redelivery, dead letters, competing workers."""

    def __init__(
        self,
        *,
        topology: Topology = _DEFAULT_TOPOLOGY,
        delivery_limit: int = 5,
        retry_delay_ms: int = 200,
        prefetch: int = 32,
        shutdown_grace_s: float = 30.0,
    ) -> None:
        self.topology = topology
        self._delivery_limit = delivery_limit
        self._retry_delay_ms = retry_delay_ms
        self._prefetch = prefetch
        self._shutdown_grace_s = shutdown_grace_s
        self._queues: dict[str, _Queue] = {}
        # routing key -> bound queues; cleared whenever a binding changes
        self._routes: dict[str, list[_Queue]] = {}
        self._workers: set[asyncio.Task[None]] = set()
        # workers running a handler, with the message id and queue for the logs
        self._busy: dict[asyncio.Task[None], dict[str, str]] = {}
        self._running = False
        self._stopping = False

    async def start(self) -> None:
        """Open the bus; queues declared before a ``close()`` keep their messages."""
        self._running = True
        self._stopping = False

    async def stop_consuming(self) -> None:
        """Stop the workers once in-flight handlers finish (or the grace period ends).

        Publishing goes on until ``close()``; what is published meanwhile waits in its queue.
        """
        self._stopping = True
        for task in self._workers - self._busy.keys():
            task.cancel()
        busy = dict(self._busy)
        if busy:
            _, late = await asyncio.wait(busy, timeout=self._shutdown_grace_s)
            for task in late:
                log.warning("cancelling a handler still running at close", extra=busy[task])
                task.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers.clear()

    async def close(self) -> None:
        """Stop consuming (handlers finish), then refuse to publish."""
        await self.stop_consuming()
        self._running = False

    async def is_ready(self) -> bool:
        """Whether ``start()`` was called and ``close()`` was not."""
        return self._running

    async def publish_encoded(self, messages: Sequence[Outgoing]) -> None:
        """Route each message to every queue bound to its routing key."""
        self._require_running()
        self.refuse_unpublishable(messages)
        for m in messages:
            self._route(m.routing_key, _Item(m.body, m.message_id, m.type))

    async def publish_raw(
        self, routing_key: str, body: bytes, *, message_id: str = "", type: str | None = None
    ) -> None:
        """Route a body without validating it; for tests and tools that need bad messages."""
        self._require_running()
        self._route(routing_key, _Item(body, message_id, type))

    async def subscribe(
        self,
        queue: str,
        patterns: Sequence[str],
        handler: Handler,
        *,
        prefetch: int | None = None,
    ) -> None:
        """Bind ``queue`` to ``patterns`` and start ``prefetch`` workers competing for it."""
        self._require_running()
        q = self._queue(queue)
        q.patterns.update(patterns)
        self._routes.clear()
        for _ in range(prefetch or self._prefetch):
            task = asyncio.create_task(self._work(q, handler), name=f"bus:{queue}")
            self._workers.add(task)
            task.add_done_callback(self._workers.discard)

    async def dead_letters(self, queue: str, *, limit: int = 100) -> list[DeadLetter]:
        """The first ``limit`` dead letters of ``queue``, left in place."""
        q = self._queues.get(self.topology.queue(queue))
        return [] if q is None else list(q.dead)[:limit]

    async def replay_dead_letters(self, queue: str, *, limit: int = 100) -> int:
        """Move up to ``limit`` dead letters back to ``queue`` as fresh deliveries."""
        q = self._queues.get(self.topology.queue(queue))
        count = 0
        while q is not None and q.dead and count < limit:
            dead = q.dead.popleft()
            q.ready.put_nowait(_Item(dead.body, dead.message_id, dead.type))
            count += 1
        return count

    def _require_running(self) -> None:
        if not self._running:
            raise TransientError("the bus is not started")

    def _queue(self, name: str) -> _Queue:
        physical = self.topology.queue(name)
        if physical not in self._queues:
            self._queues[physical] = _Queue(name)
        return self._queues[physical]

    def _route(self, routing_key: str, item: _Item) -> None:
        queues = self._routes.get(routing_key)
        if queues is None:
            queues = self._routes[routing_key] = [
                q for q in self._queues.values() if q.routes(routing_key)
            ]
        if len(queues) == 1:
            queues[0].ready.put_nowait(item)
            return
        for q in queues:
            # each queue owns its copy (and its delivery count), as a broker would
            q.ready.put_nowait(_Item(item.body, item.message_id, item.type))

    async def _work(self, q: _Queue, handler: Handler) -> None:
        task = asyncio.current_task()
        assert task is not None
        while not self._stopping:
            item = await q.ready.get()
            self._busy[task] = {"message_id": item.message_id, "queue": q.name}
            try:
                await self._deliver(q, item, handler)
            except asyncio.CancelledError:
                # close() gave up waiting: unacknowledged, so back to the queue like a broker
                item.returned += 1
                q.ready.put_nowait(item)
                raise
            except Exception:
                # dispatch() catches handler errors; this is a bug here, and must not stop the
                # worker or lose the message
                log.exception("could not settle a delivery", extra=self._busy.get(task))
                item.returned += 1
                q.ready.put_nowait(item)
            finally:
                self._busy.pop(task, None)

    async def _deliver(self, q: _Queue, item: _Item, handler: Handler) -> None:
        attempt = item.returned + 1
        outcome = await dispatch(
            item.body,
            queue=q.name,
            attempt=attempt,
            handler=handler,
            delivery_limit=self._delivery_limit,
            retry_delay_ms=self._retry_delay_ms,
            message_id=item.message_id,
        )
        if outcome.action == "dead":
            self._bury(q, item, outcome.reason, attempt)
        elif outcome.action == "retry":
            # the worker holds the message while it waits, as a consumer holds its prefetch
            await asyncio.sleep(outcome.delay_s)
            item.returned += 1
            q.ready.put_nowait(item)

    def _bury(self, q: _Queue, item: _Item, reason: str, attempt: int) -> None:
        q.dead.append(
            DeadLetter(
                queue=q.name,
                message_id=item.message_id,
                type=item.type,
                reason=reason,
                body=item.body,
                dead_lettered_at=datetime.now(UTC),
            )
        )
        log.info(
            "dead-lettered after attempt %d: %s",
            attempt,
            reason,
            extra={"message_id": item.message_id, "queue": q.name},
        )
