"""``python -m bench.engine``: the playbook engine's throughput and its own cost per step.

Three figures, each beside a raw baseline measured in the same run:

1. runs completed per second of a three-action playbook whose actions a responder answers at
   once, on RabbitMQ and on the in-process bus, beside the raw bus round trips per second
   (publish → consume → publish → consume, no database) at the same concurrency;
2. for one 50-step playbook (50 sequential actions), the engine's own time per step — from
   the delivery of ``action.completed`` to the commit that sends the next
   ``action.requested``, replay of the whole history included — beside the raw bus round trip
   on the same bus, sequential. Target on RabbitMQ: at most half the raw round trip;
3. for one ``--long-steps`` playbook (default 300), the engine's time at its last ten steps
   over its time at steps 6 to 15 (medians): how the replay of a growing history weighs.
   Target: at most 1.5. (1,000 steps would take too long for every pass of ``make bench``;
   the TARGET line names the length measured.)

Each figure is the median of ``--repeat`` passes (default 5, env ``RAMPART_BENCH_REPEAT``)
with their min and max, on one engine per bus; the bench runs on uvloop, as the services do,
and ends with one ``TARGET`` line per target.

Needs RabbitMQ and PostgreSQL (``RAMPART_BENCH_AMQP_URL``, ``RAMPART_BENCH_DATABASE_URL``);
each run creates its own database and bus namespace and removes them. Nothing asserts on time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
from pydantic import SecretStr

from bench._common import exit_code_of, spread, target_line
from rampart.core.bus import Bus, Delivery, MemoryBus, Topology
from rampart.core.crypto import Keyring
from rampart.core.envelope import Envelope
from rampart.core.messages import (
    ActionCompleted,
    ActionRequested,
    ActionTarget,
    AssetResult,
    EventIngested,
    PlaybookRunCompleted,
)
from rampart.core.runtime import run_services
from rampart.core.settings import Settings
from rampart.engine.config import EngineSettings
from rampart.engine.sandbox.processes import PlaybookProcesses
from rampart.engine.spec import build_spec

DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/test"
TIMEOUT_S = 120.0

THREE = """
from rampart.sdk import playbook

@playbook(labels=["bench-three"])
async def three(ctx, event):
    for n in range(3):
        await ctx.act("lookup ip", asset="intel", ip=f"192.0.2.{n}")
"""

FIFTY = """
from rampart.sdk import playbook

@playbook(labels=["bench-fifty"])
async def fifty(ctx, event):
    for n in range(50):
        await ctx.act("lookup ip", asset="intel", ip=f"198.51.100.{n}")
"""

LONG = """
from rampart.sdk import playbook

@playbook(labels=["bench-long"])
async def long(ctx, event):
    for n in range({steps}):
        await ctx.act("lookup ip", asset="intel", ip=f"203.0.113.{{n % 250}}")
"""

QUEUES = [
    "engine.triggers",
    "engine.results",
    "bench.responder",
    "bench.done",
    "bench.ping",
    "bench.pong",
]


@dataclass
class Options:
    """What one run of the bench measures and where."""

    amqp_url: str
    database_url: str
    runs: int
    concurrency: int
    round_trips: int
    buses: tuple[str, ...]
    repeat: int
    long_steps: int


@dataclass
class Watch:
    """Accumulated time and calls of one instrumented step."""

    total: float = 0.0
    calls: int = 0
    durations: list[float] = field(default_factory=list)

    def wrap(self, fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return await fn(*args, **kwargs)
            finally:
                took = time.perf_counter() - start
                self.total += took
                self.calls += 1
                self.durations.append(took)

        return timed

    @property
    def mean_ms(self) -> float:
        return 1000 * self.total / max(self.calls, 1)

    def reset(self) -> None:
        self.total, self.calls, self.durations = 0.0, 0, []


@dataclass
class Counters:
    """Completed runs seen on the bus."""

    completed: set[str] = field(default_factory=set)
    changed: asyncio.Event = field(default_factory=asyncio.Event)


def _make_bus(kind: str, options: Options, namespace: str) -> Bus:
    if kind == "memory":
        return MemoryBus(topology=Topology(namespace))
    from rampart.core.bus.rabbitmq import RabbitBus

    return RabbitBus(options.amqp_url, topology=Topology(namespace))


class RawPingPong:
    """The bus alone: ping (``action.requested``) → pong (``action.completed``), no database."""

    def __init__(self, bus: Bus) -> None:
        self._bus = bus
        self._waiting: dict[str, asyncio.Future[None]] = {}

    async def start(self) -> None:
        await self._bus.subscribe("bench.ping", ["action.requested"], self._pong)
        await self._bus.subscribe("bench.pong", ["action.completed"], self._back)

    async def _pong(self, delivery: Delivery) -> None:
        ping = delivery.message_as(ActionRequested)
        answer = ActionCompleted(request_key=ping.request_key, action=ping.action, status="success")
        await self._bus.publish([Envelope.wrap(answer, source="bench/pong")])

    async def _back(self, delivery: Delivery) -> None:
        future = self._waiting.pop(delivery.message_as(ActionCompleted).request_key, None)
        if future is not None and not future.done():
            future.set_result(None)

    async def _chain(self, n: int) -> None:
        loop = asyncio.get_running_loop()
        for i in range(n):
            key = f"ping-{uuid.uuid4()}-{i}"
            self._waiting[key] = loop.create_future()
            ping = ActionRequested(
                request_key=key,
                action="lookup ip",
                target=ActionTarget(asset="a"),
                requested_by="bench",
            )
            await self._bus.publish([Envelope.wrap(ping, source="bench/ping")])
            await asyncio.wait_for(self._waiting[key], TIMEOUT_S)

    async def rate(self, *, count: int, concurrency: int) -> float:
        """Round trips per second with ``concurrency`` chains in flight."""
        per_chain = max(count // concurrency, 1)
        await self._chain(min(per_chain, 20))  # warm-up
        start = time.perf_counter()
        await asyncio.gather(*(self._chain(per_chain) for _ in range(concurrency)))
        return per_chain * concurrency / (time.perf_counter() - start)


@contextlib.asynccontextmanager
async def engine(
    kind: str, options: Options, database_url: str, folder: Path, watches: dict[str, Watch]
) -> AsyncIterator[tuple[Bus, Counters]]:
    """The engine alone on a fresh bus, a responder answering at once, and a run counter."""
    namespace = f"benche{uuid.uuid4().hex[:8]}"
    bus = _make_bus(kind, options, namespace)
    config = EngineSettings(playbooks_dir=folder, processes=2, timer_interval_s=0.5)
    spec = build_spec(config=config, events=lambda _r: _Events(), assets=lambda _r: _Assets())
    results = watches["results"]

    subscribe = bus.subscribe

    async def timed_subscribe(queue: str, patterns: Any, handler: Any, **kwargs: Any) -> Any:
        if queue == "engine.results":
            handler = results.wrap(handler)
        return await subscribe(queue, patterns, handler, **kwargs)

    bus.subscribe = timed_subscribe  # type: ignore[method-assign]
    settings = Settings(
        database_url=SecretStr(database_url),
        master_key=SecretStr(Keyring.generate_key_text()),
        bus_namespace=namespace,
        db_pool_max=12,
    )
    counters = Counters()
    try:
        async with run_services(settings, [spec], bus=bus):
            await _subscribe_helpers(bus, counters)
            yield bus, counters
    finally:
        await _delete_namespace(kind, options, namespace)


class _Events:
    """Serves each event as announced (the bench has no ingest service)."""

    known: dict[str, dict[str, Any]] = {}

    async def fetch(self, event_id: uuid.UUID) -> dict[str, Any] | None:
        return self.known.get(str(event_id))


class _Assets:
    async def names(self, *, tag: str | None, action: str | None) -> list[str]:
        return []


async def _subscribe_helpers(bus: Bus, counters: Counters) -> None:
    async def respond(delivery: Delivery) -> None:
        request = delivery.message_as(ActionRequested)
        answer = ActionCompleted(
            request_key=request.request_key,
            action=request.action,
            status="success",
            results=[AssetResult(asset="intel", status="success")],
        )
        await bus.publish([Envelope.wrap(answer, source="bench/responder")])

    async def done(delivery: Delivery) -> None:
        counters.completed.add(str(delivery.message_as(PlaybookRunCompleted).run_id))
        counters.changed.set()

    await bus.subscribe("bench.responder", ["action.requested"], respond)
    await bus.subscribe("bench.done", ["playbook.run.completed"], done)


async def _delete_namespace(kind: str, options: Options, namespace: str) -> None:
    if kind != "rabbitmq":
        return
    import aio_pika

    topology = Topology(namespace)
    connection = await aio_pika.connect(options.amqp_url)
    try:
        for name in QUEUES:
            for physical in (topology.queue(name), topology.dead_queue(name)):
                channel = await connection.channel()
                with contextlib.suppress(Exception):
                    await channel.queue_delete(physical)
        for exchange in (topology.exchange, topology.dead_letter_exchange):
            channel = await connection.channel()
            with contextlib.suppress(Exception):
                await channel.exchange_delete(exchange)
    finally:
        await connection.close()


async def start_events(bus: Bus, label: str, count: int) -> None:
    """Announce ``count`` events with ``label``."""
    envelopes = []
    for _ in range(count):
        event_id = uuid.uuid4()
        _Events.known[str(event_id)] = {
            "id": str(event_id),
            "name": "bench",
            "severity": "high",
            "labels": [label],
        }
        message = EventIngested(
            event_id=event_id, source="bench", name="bench", severity="high", labels=[label]
        )
        envelopes.append(Envelope.wrap(message, source="bench/ingest"))
    for i in range(0, len(envelopes), 200):
        await bus.publish(envelopes[i : i + 200])


async def wait_runs(counters: Counters, count: int) -> None:
    """Until ``count`` more runs completed than when called... counted from zero here."""
    deadline = time.perf_counter() + TIMEOUT_S
    while len(counters.completed) < count:
        counters.changed.clear()
        left = deadline - time.perf_counter()
        if left <= 0:
            raise RuntimeError(f"only {len(counters.completed)} of {count} runs completed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(counters.changed.wait(), min(left, 1.0))


async def _run_alone(bus: Bus, counters: Counters, watches: dict[str, Watch], label: str) -> float:
    """One run of the playbook with ``label`` alone on the engine; its wall seconds."""
    counters.completed.clear()
    for watch in watches.values():
        watch.reset()
    start = time.perf_counter()
    await start_events(bus, label, 1)
    await wait_runs(counters, 1)
    return time.perf_counter() - start


async def measure(kind: str, options: Options, database_url: str) -> dict[str, list[float]]:
    """Every figure of one bus kind, one value per pass."""
    figures: dict[str, list[float]] = {}

    def add(name: str, value: float) -> None:
        figures.setdefault(name, []).append(value)

    raw_bus = _make_bus(kind, options, f"benchr{uuid.uuid4().hex[:8]}")
    watches = {"results": Watch(), "pass": Watch()}
    original = PlaybookProcesses.request
    PlaybookProcesses.request = watches["pass"].wrap(original)  # type: ignore[method-assign, assignment]
    await raw_bus.start()
    try:
        ping = RawPingPong(raw_bus)
        await ping.start()
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            (folder / "three.py").write_text(THREE)
            (folder / "fifty.py").write_text(FIFTY)
            (folder / "long.py").write_text(LONG.format(steps=options.long_steps))
            async with engine(kind, options, database_url, folder, watches) as (bus, counters):
                await start_events(bus, "bench-three", 10)  # warm-up
                await wait_runs(counters, 10)
                for _ in range(options.repeat):
                    add(
                        "raw_rt_per_s",
                        await ping.rate(count=options.round_trips, concurrency=options.concurrency),
                    )
                    add("raw_rt_ms", 1000 / await ping.rate(count=300, concurrency=1))

                    counters.completed.clear()
                    start = time.perf_counter()
                    await start_events(bus, "bench-three", options.runs)
                    await wait_runs(counters, options.runs)
                    add("runs_per_s", options.runs / (time.perf_counter() - start))

                    wall = await _run_alone(bus, counters, watches, "bench-fifty")
                    add("fifty_wall_ms_per_step", 1000 * wall / 50)
                    add("engine_ms_per_step", watches["results"].mean_ms)
                    add("pass_ms_per_step", watches["pass"].mean_ms)

                    await _run_alone(bus, counters, watches, "bench-long")
                    took = watches["results"].durations
                    if len(took) < options.long_steps:
                        raise RuntimeError(f"the long run took {len(took)} steps")
                    early = statistics.median(took[5:15])
                    late = statistics.median(took[options.long_steps - 10 : options.long_steps])
                    add("early_ms", 1000 * early)
                    add("late_ms", 1000 * late)
                    add("growth", late / early)
                    print(
                        f"{kind} pass {len(figures['growth'])}/{options.repeat} done",
                        flush=True,
                    )
    finally:
        PlaybookProcesses.request = original  # type: ignore[method-assign]
        await raw_bus.close()
        await _delete_namespace(kind, options, raw_bus.topology.namespace)
    return figures


async def run(options: Options) -> None:
    """Create a database, measure each bus, print the table, drop the database."""
    name = f"bench_engine_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(options.database_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    base, sep, query = options.database_url.partition("?")
    database_url = f"{base.rpartition('/')[0]}/{name}{sep}{query}"
    print(
        f"rampart bench.engine: per pass {options.runs} runs of a 3-action playbook, one 50-step "
        f"run and one {options.long_steps}-step run; raw baseline {options.round_trips} round "
        f"trips at concurrency {options.concurrency}; median of {options.repeat} passes "
        f"(min, max); {os.cpu_count()} cores; "
        f"{asyncio.get_event_loop_policy().__class__.__module__}",
        flush=True,
    )
    try:
        results = {kind: await measure(kind, options, database_url) for kind in options.buses}
    finally:
        admin = await asyncpg.connect(options.database_url)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    print()
    targets = []
    for kind, f in results.items():
        runs_share = [
            3 * runs / rt for runs, rt in zip(f["runs_per_s"], f["raw_rt_per_s"], strict=True)
        ]
        step_share = [
            step / rt for step, rt in zip(f["engine_ms_per_step"], f["raw_rt_ms"], strict=True)
        ]
        rows = [
            (f"raw bus round trips (concurrency {options.concurrency}) /s", f["raw_rt_per_s"], 0),
            ("runs completed (3 actions) /s", f["runs_per_s"], 1),
            ("  share of the raw round-trip rate (x3 actions)", runs_share, 2),
            ("raw bus round trip, sequential (ms)", f["raw_rt_ms"], 2),
            ("50-step run, wall per step (ms)", f["fifty_wall_ms_per_step"], 2),
            ("engine per step (handler) (ms)", f["engine_ms_per_step"], 2),
            ("  ÷ the raw round trip", step_share, 2),
            ("  of which the replay pass (ms)", f["pass_ms_per_step"], 2),
            (f"{options.long_steps}-step run: steps 6-15 (ms)", f["early_ms"], 2),
            ("  last 10 steps (ms)", f["late_ms"], 2),
            ("  late ÷ early", f["growth"], 2),
        ]
        print(f"{kind}:")
        for label, values, digits in rows:
            print(f"  {label:<50} {spread(values, digits)}")
        if kind == "rabbitmq":
            share = statistics.median(step_share)
            targets.append(
                target_line(
                    "engine step / raw rabbitmq round trip",
                    f"{share:.2f}",
                    "<= 0.50",
                    share <= 0.50,
                )
            )
        growth = statistics.median(f["growth"])
        targets.append(
            target_line(
                f"engine step at step {options.long_steps} / at step 10 ({kind})",
                f"{growth:.2f}",
                "<= 1.5",
                growth <= 1.5,
            )
        )
    print()
    for line in targets:
        print(line)


def parse(argv: Sequence[str] | None = None) -> Options:
    """Options from the command line and ``RAMPART_BENCH_*``."""
    parser = argparse.ArgumentParser(prog="python -m bench.engine", description=__doc__)
    parser.add_argument("--runs", type=int, default=200, help="runs of the 3-action playbook")
    parser.add_argument("--concurrency", type=int, default=16, help="raw baseline chains")
    parser.add_argument("--round-trips", type=int, default=2000, help="raw baseline size")
    parser.add_argument(
        "--repeat",
        type=int,
        default=int(os.environ.get("RAMPART_BENCH_REPEAT", "5")),
        help="passes; each figure is their median (default 5)",
    )
    parser.add_argument(
        "--long-steps", type=int, default=300, help="steps of the long run (default 300)"
    )
    parser.add_argument(
        "--bus",
        action="append",
        choices=["memory", "rabbitmq"],
        help="bus kinds to measure (default both)",
    )
    args = parser.parse_args(argv)
    return Options(
        amqp_url=os.environ.get("RAMPART_BENCH_AMQP_URL", DEFAULT_AMQP_URL),
        database_url=os.environ.get("RAMPART_BENCH_DATABASE_URL", DEFAULT_DATABASE_URL),
        runs=args.runs,
        concurrency=args.concurrency,
        round_trips=args.round_trips,
        buses=tuple(args.bus or ("rabbitmq", "memory")),
        repeat=args.repeat,
        long_steps=args.long_steps,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the bench; 0 unless a measurement failed."""
    options = parse(argv)
    return exit_code_of(run(options))


if __name__ == "__main__":
    sys.exit(main())
