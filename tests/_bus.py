"""RabbitMQ housekeeping for tests: remove what a test namespace declared.

A test namespace's queues are quorum queues, each a small Raft group on the broker: left
behind by the hundreds, they slow the node until it stops answering. So every test that
touches RabbitMQ deletes its namespace's queues at the end — the ones its buses declared
and, for tests whose services run as processes, every queue a Rampart service may declare.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterable


@functools.cache
def every_queue() -> tuple[str, ...]:
    """Every logical queue the installed services and connectors' runners may declare."""
    from rampart.cli._services import all_specs
    from rampart.core.connectors import discover_connectors

    names = {queue for spec in all_specs() for queue in spec.queue_names}
    names.update(f"connector.{connector.name}" for connector in discover_connectors())
    return tuple(sorted(names))


async def delete_namespace(
    amqp_url: str, namespace: str, queues: Iterable[str] | None = None
) -> None:
    """Remove a test namespace's queues (with their dead-letter queues) and exchanges.

    ``queues`` are deleted besides :func:`every_queue`, which is always included.
    """
    import aio_pika

    from rampart.core.bus import Topology

    topology = Topology(namespace)
    names = sorted({*every_queue(), *(queues or ())})
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        for name in names:
            for physical in (topology.queue(name), topology.dead_queue(name)):
                try:
                    await channel.queue_delete(physical)
                except Exception:  # already gone: the broker closed the channel
                    channel = await connection.channel()
        for exchange in (topology.exchange, topology.dead_letter_exchange):
            with contextlib.suppress(Exception):  # already gone
                await channel.exchange_delete(exchange)
            if channel.is_closed:
                channel = await connection.channel()
    finally:
        await connection.close()
