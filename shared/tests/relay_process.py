"""A relay in its own process, slowed between publishing and committing, for kill tests.

Usage: python relay_process.py DATABASE_URL AMQP_URL NAMESPACE SCHEMA
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence

from rampart.core.bus import Outgoing, Topology
from rampart.core.bus.rabbitmq import RabbitBus
from rampart.core.outbox import OutboxRelay
from rampart.core.store import Notifications, connect_pool


class SlowCommitBus(RabbitBus):
    """Publishes for real, then lingers so the relay's transaction is still open."""

    async def publish_encoded(self, messages: Sequence[Outgoing]) -> None:
        await super().publish_encoded(messages)
        await asyncio.sleep(0.5)


async def main(database_url: str, amqp_url: str, namespace: str, schema: str) -> None:
    pool = await connect_pool(database_url)
    bus = SlowCommitBus(amqp_url, topology=Topology(namespace))
    await bus.start()
    relay = OutboxRelay(
        pool=pool, notifications=Notifications(database_url), bus=bus, schema=schema, batch_size=20
    )
    while True:
        await relay.relay_once()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
