"""The message bus: one interface, an in-process and a RabbitMQ implementation."""

from rampart.core.bus._base import (
    Bus,
    DeadLetter,
    Delivery,
    Handler,
    Topology,
    topic_matches,
)

__all__ = ["Bus", "DeadLetter", "Delivery", "Handler", "Topology", "topic_matches"]
