"""The message bus: one interface, an in-process and a RabbitMQ implementation.

``RabbitBus`` lives in ``rampart.core.bus.rabbitmq`` so that importing the bus does not import
the AMQP client.
"""

from rampart.core.bus._base import (
    Bus,
    DeadLetter,
    Delivery,
    Handler,
    Outgoing,
    Topology,
    Unpublishable,
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
    "Topology",
    "Unpublishable",
    "topic_matches",
]
