"""Settings, sample envelopes, timing and clean-up shared by the benchmarks."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import traceback
import uuid
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import uvloop

from bench.cpu import CpuShare
from rampart.core.bus import Topology
from rampart.core.envelope import Envelope
from rampart.core.messages import EventIngested

T = TypeVar("T")

DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/test"
# the relay's default batch size, used for every batched figure so they compare
BATCH = 200
# how long one repetition may take before the bench gives up with an error
TIMEOUT_S = 120.0
ROUTING_KEY = "event.ingested"
CONSUMER_QUEUE = "bench-consumer"
# bound like the consumer's queue but never read: the relay's figure without a consumer
SINK_QUEUE = "bench-sink"


@dataclass(frozen=True, slots=True)
class Settings:
    """What one run of the bench uses: servers, sizes, and its own namespace and schema."""

    amqp_url: str
    database_url: str
    n: int
    repeat: int
    warmup: int
    batch: int
    profile: bool
    process_consumer: bool
    namespace: str
    schema: str

    @property
    def topology(self) -> Topology:
        """The bus names of this run (exchange ``bench<hex>``, queues ``bench<hex>.<name>``)."""
        return Topology(self.namespace)

    @property
    def raw_exchange(self) -> str:
        """The raw baseline's own exchange, so its queue never sees the relay's messages."""
        return f"{self.namespace}.raw"

    @property
    def raw_queue(self) -> str:
        """The raw baseline's quorum queue."""
        return f"{self.namespace}.raw"


def parse_settings(argv: Sequence[str] | None = None) -> Settings:
    """Settings from the command line and ``RAMPART_BENCH_*`` environment variables."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "-n",
        type=int,
        default=int(os.environ.get("RAMPART_BENCH_N", "5000")),
        help="messages per repetition (default 5000, env RAMPART_BENCH_N)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=int(os.environ.get("RAMPART_BENCH_REPEAT", "5")),
        help="interleaved passes; each figure is their median (default 5)",
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=1000,
        help="messages of one untimed warm-up round per figure (default 1000, 0 for none)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also run cProfile over one outbox repetition per bus and print the top functions",
    )
    parser.add_argument(
        "--process-consumer",
        action="store_true",
        help="also measure the RabbitMQ outbox with the consumer in a child process",
    )
    args = parser.parse_args(argv)
    if args.n < BATCH or args.repeat < 1:
        parser.error(f"-n must be at least {BATCH} and --repeat at least 1")
    suffix = uuid.uuid4().hex[:10]
    return Settings(
        amqp_url=os.environ.get("RAMPART_BENCH_AMQP_URL", DEFAULT_AMQP_URL),
        database_url=os.environ.get("RAMPART_BENCH_DATABASE_URL", DEFAULT_DATABASE_URL),
        n=args.n,
        repeat=args.repeat,
        warmup=args.warmup,
        batch=BATCH,
        profile=args.profile,
        process_consumer=args.process_consumer,
        namespace=f"bench{suffix}",
        schema=f"bench_{suffix}",
    )


def make_envelopes(n: int) -> list[Envelope]:
    """``n`` fresh ``EventIngested`` envelopes, each about 480 bytes serialised."""
    out: list[Envelope] = []
    for i in range(n):
        message = EventIngested(
            event_id=uuid.uuid4(),
            source="splunk",
            source_ref=f"SPL-{i:07d}",
            name="Suspicious sign-in from a new country",
            severity="high",
            labels=["identity"],
        )
        out.append(Envelope.wrap(message, source="rampart.ingest"))
    return out


def batches(items: Sequence[T], size: int) -> list[Sequence[T]]:
    """``items`` cut into consecutive slices of ``size``."""
    return [items[i : i + size] for i in range(0, len(items), size)]


@dataclass(slots=True)
class Figure:
    """The rates of the timed repetitions of one measurement; its figure is their median."""

    name: str
    unit: str
    rates: list[float] = field(default_factory=list)
    # who was busy during the repetition nearest the median, and any breakdown of its time
    cpu: CpuShare | None = None
    notes: list[str] = field(default_factory=list)

    def add(self, count: int, seconds: float, cpu: CpuShare | None = None) -> bool:
        """Record one repetition: ``count`` items in ``seconds``; True if it is now the one
        nearest the median, whose details are kept."""
        self.rates.append(count / seconds)
        nearest = self._nearest_median(self.rates) == len(self.rates) - 1
        if nearest:
            self.cpu = cpu
        return nearest

    def merge(self, other: Figure) -> None:
        """Take in the repetitions of ``other``, keeping the details of the one nearest the
        median."""
        if not other.rates:
            return
        self.rates.extend(other.rates)
        if self._nearest_median(self.rates) >= len(self.rates) - len(other.rates):
            self.cpu = other.cpu
            self.notes = other.notes

    @staticmethod
    def _nearest_median(rates: Sequence[float]) -> int:
        middle = statistics.median(rates)
        return min(range(len(rates)), key=lambda i: (abs(rates[i] - middle), -i))

    @property
    def median(self) -> float:
        """The median rate: the figure reported."""
        return statistics.median(self.rates)

    @property
    def low(self) -> float:
        """The lowest rate of the repetitions."""
        return min(self.rates)

    @property
    def high(self) -> float:
        """The highest rate of the repetitions."""
        return max(self.rates)


def spread(values: Sequence[float], digits: int = 1) -> str:
    """``median (min …, max …)`` of ``values``."""
    return (
        f"{statistics.median(values):,.{digits}f} "
        f"(min {min(values):,.{digits}f}, max {max(values):,.{digits}f})"
    )


def target_line(name: str, value: str, goal: str, met: bool) -> str:
    """The summary line of one target: ``TARGET <name>: <value> (goal <goal>) met|not met``."""
    return f"TARGET {name}: {value} (goal {goal}) {'met' if met else 'not met'}"


async def drop_schema(pool: Any, schema: str) -> None:
    """Drop the run's schema and everything in it."""
    async with pool.acquire() as conn:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


async def delete_queues(settings: Settings, names: Sequence[str]) -> None:
    """Delete queues by physical name; absent ones are fine."""
    import aio_pika

    connection = await aio_pika.connect(settings.amqp_url)
    try:
        for name in names:
            # a failed delete closes the channel, so each gets its own
            channel = await connection.channel()
            with contextlib.suppress(Exception):
                await channel.queue_delete(name)
    finally:
        await connection.close()


async def delete_namespace(settings: Settings) -> None:
    """Delete the run's queues (with their dead queues) and exchanges; absent ones are fine."""
    import aio_pika

    topology = settings.topology
    await delete_queues(
        settings,
        [
            settings.raw_queue,
            topology.queue(CONSUMER_QUEUE),
            topology.dead_queue(CONSUMER_QUEUE),
            topology.queue(SINK_QUEUE),
        ],
    )
    connection = await aio_pika.connect(settings.amqp_url)
    try:
        for name in (settings.raw_exchange, topology.exchange, topology.dead_letter_exchange):
            channel = await connection.channel()
            with contextlib.suppress(Exception):
                await channel.exchange_delete(name)
    finally:
        await connection.close()


async def wait_all(done: asyncio.Event, what: str) -> None:
    """Wait for ``done``; a repetition that stalls is an error, not a slow figure."""
    try:
        await asyncio.wait_for(done.wait(), TIMEOUT_S)
    except TimeoutError:
        raise RuntimeError(f"{what}: not all messages arrived within {TIMEOUT_S:.0f}s") from None


def exit_code_of(main: Coroutine[Any, Any, object]) -> int:
    """Run a bench to its end on uvloop, as the services run: 0 unless a measurement failed,
    130 when interrupted."""
    uvloop.install()
    try:
        asyncio.run(main)
    except KeyboardInterrupt:
        return 130
    except Exception:
        traceback.print_exc()
        return 1
    return 0
