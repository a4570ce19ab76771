"""Per-message CPU cost of the steps on Rampart's path, to explain the throughput figures."""

from __future__ import annotations

import time
from collections.abc import Callable

from bench._common import make_envelopes
from rampart.core.bus._base import decode
from rampart.core.envelope import Envelope


def _per_call_us(fn: Callable[[], object], calls: int) -> float:
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, time.perf_counter() - start)
    return best / calls * 1e6


def step_costs(calls: int = 2000) -> list[tuple[str, float]]:
    """``(step, µs per message)`` for the CPU-bound steps each message goes through."""
    import aio_pika
    import aiormq

    from rampart.core.bus import Outgoing

    envelope = make_envelopes(1)[0]
    body = envelope.to_bytes()
    return [
        (
            "Envelope.from_bytes (a consumer parses each body once)",
            _per_call_us(lambda: Envelope.from_bytes(body), calls),
        ),
        (
            "Outgoing.of (to_bytes; enqueue serialises once, the relay not at all)",
            _per_call_us(lambda: Outgoing.of(envelope), calls),
        ),
        (
            "aiormq Basic.Properties (what RabbitBus builds per message)",
            _per_call_us(
                lambda: aiormq.spec.Basic.Properties(
                    content_type="application/cloudevents+json",
                    delivery_mode=2,
                    message_id=envelope.id,
                    message_type=envelope.type,
                ),
                calls,
            ),
        ),
        (
            "aio_pika.Message from ready bytes (what raw does)",
            _per_call_us(
                lambda: aio_pika.Message(
                    body=body,
                    content_type="application/cloudevents+json",
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    message_id=envelope.id,
                    type=envelope.type,
                    timestamp=envelope.time,
                ),
                calls,
            ),
        ),
        (
            "bus decode (consumer: envelope + message validation)",
            _per_call_us(lambda: decode(body), calls),
        ),
    ]
