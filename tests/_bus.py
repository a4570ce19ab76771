"""RabbitMQ housekeeping for tests: remove what a test namespace declared."""

from __future__ import annotations

import contextlib


async def delete_namespace(amqp_url: str, namespace: str, queues: list[str]) -> None:
    """Remove a test namespace's queues (with their dead-letter queues) and exchanges."""
    import aio_pika

    from rampart.core.bus import Topology

    topology = Topology(namespace)
    connection = await aio_pika.connect(amqp_url)
    try:
        for name in queues:
            for physical in (topology.queue(name), topology.dead_queue(name)):
                channel = await connection.channel()
                with contextlib.suppress(Exception):  # already gone
                    await channel.queue_delete(physical)
        for exchange in (topology.exchange, topology.dead_letter_exchange):
            channel = await connection.channel()
            with contextlib.suppress(Exception):  # already gone
                await channel.exchange_delete(exchange)
    finally:
        await connection.close()
