"""The message bus: one interface; PostgreSQL, RabbitMQ and in-process implementations.

``PostgresBus`` (embedded mode: queues are tables) lives in ``rampart.core.bus.postgres`` and
``RabbitBus`` in ``rampart.core.bus.rabbitmq``, so that importing the bus imports neither.
``MemoryBus`` keeps messages for the life of one process only; tests use it.
"""

from rampart.core.bus._base import (
    Bus,
    DeadLetter,
    Delivery,
    Handler,
    Outgoing,
    PublishError,
    Topology,
    topic_matches,
)
from rampart.core.bus.memory import MemoryBus

__all__ = [
    "Bus",
    "DeadLetter",
    "Delivery",
    "Handler",
    "MemoryBus",
    "Outgoing",
    "PublishError",
    "Topology",
    "topic_matches",
]
