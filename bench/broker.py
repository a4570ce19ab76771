"""``python -m bench.broker``: actions per second through the broker and its runner, next to
the raw bus round trip measured in the same run, and what a slow connector adds to a fast one.

All five services run in one app over real HTTP on RabbitMQ, with the ``noop`` connector:

* raw round trip: envelopes published on the app's bus and consumed by one queue (msg/s);
* broker: ``action.requested`` for a fast noop asset until every ``action.completed``
  arrived (actions/s), with the bus messages counted per action, so the hop-bound limit
  (round trip ÷ messages per action) and the ratio to it show;
* slow beside fast: the median latency of sequential fast actions alone, then while slow
  actions (a noop asset answering after ``--slow-delay`` seconds) hold runners.

Nothing asserts on time: the exit code is 0 whether or not a target is met.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import uvicorn
import uvloop
from pydantic import SecretStr

from rampart.cli._services import all_specs
from rampart.core.app import create_app
from rampart.core.auth import AUTH_SCHEMA, Role, create_token
from rampart.core.bus import Delivery, Outgoing, Topology
from rampart.core.bus.rabbitmq import RabbitBus
from rampart.core.crypto import Keyring
from rampart.core.envelope import Envelope
from rampart.core.messages import ActionCompleted, ActionRequested, ActionStarted, ActionTarget
from rampart.core.settings import Settings
from rampart.core.store import apply_migrations, connect_pool, load_migrations
from tests._bus import delete_namespace
from tests._processes import free_port

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/test"
DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"


def _request(asset: str, n: int) -> ActionRequested:
    return ActionRequested(
        request_key=f"bench:{uuid.uuid4()}",
        action="lookup ip",
        target=ActionTarget(asset=asset),
        params={"ip": f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"},
        requested_by="bench",
    )


class Watch:
    """Counts deliveries and wakes whoever waits for a condition on them."""

    def __init__(self, *, probes: bool = False) -> None:
        self.probes = probes
        self.count = 0
        self.completed: dict[str, float] = {}
        self.started: set[str] = set()
        self.changed = asyncio.Event()

    async def handle(self, delivery: Delivery) -> None:
        if not self.probes and getattr(delivery.message, "request_key", None) == "bench":
            return  # a probe of the raw round trip
        self.count += 1
        if isinstance(delivery.message, ActionStarted):
            self.started.add(delivery.message.request_key)
        if isinstance(delivery.message, ActionCompleted):
            self.completed[delivery.message.request_key] = time.perf_counter()
        self.changed.set()

    async def until(self, done: Callable[[], bool], within: float) -> None:
        deadline = time.perf_counter() + within
        while not done():
            left = deadline - time.perf_counter()
            if left <= 0:
                raise TimeoutError("the benchmark did not finish in time")
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), min(left, 1.0))
            except TimeoutError:
                continue


async def _publish(bus: RabbitBus, messages: list[Any]) -> None:
    envelopes = [Envelope.wrap(m, source="rampart/bench") for m in messages]
    for start in range(0, len(envelopes), 200):
        await bus.publish_encoded([Outgoing.of(e) for e in envelopes[start : start + 200]])


async def _round_trip(bus: RabbitBus, echo: Watch, n: int) -> float:
    """Probes published on the app's bus and consumed by one queue of the bench (msg/s)."""
    echo.count = 0
    probes = [
        ActionStarted(
            action_run_id=uuid.uuid4(),
            request_key="bench",
            action="lookup ip",
            asset="x",
            connector="none",
        )
        for _ in range(n)
    ]
    began = time.perf_counter()
    await _publish(bus, probes)
    await echo.until(lambda: echo.count >= n, 120)
    return n / (time.perf_counter() - began)


async def _create(
    client: httpx.AsyncClient, headers: dict[str, str], name: str, **config: Any
) -> None:
    owner = await client.post("/api/v1/owners", json={"name": f"{name}-owner"}, headers=headers)
    body = {
        "name": name,
        "connector": "noop",
        "config": config,
        "primary_owners": [owner.json()["id"]],
        "approval_policy": {"kinds": []},
        "concurrency_limit": 256,
    }
    created = await client.post("/api/v1/assets", json=body, headers=headers)
    assert created.status_code == 201, created.text


async def _latencies(
    bus: RabbitBus, watch: Watch, count: int, base: int = 9_900_000
) -> list[float]:
    out = []
    for n in range(count):
        request = _request("fast", base + n)
        began = time.perf_counter()
        await _publish(bus, [request])
        await watch.until(lambda r=request.request_key: r in watch.completed, 60)  # type: ignore[misc]
        out.append(watch.completed[request.request_key] - began)
    return out


@dataclass(frozen=True, slots=True)
class Pass:
    """The figures of one pass."""

    raw: float
    rate: float
    per_action: float
    alone_ms: float
    beside_ms: float

    @property
    def limit(self) -> float:
        return self.raw / self.per_action

    @property
    def ratio(self) -> float:
        return self.rate / self.limit

    @property
    def added_ms(self) -> float:
        return self.beside_ms - self.alone_ms


async def _pass(
    bus: RabbitBus, watch: Watch, echo: Watch, args: argparse.Namespace, number: int
) -> Pass:
    """Raw round trip, broker throughput, then fast latency alone and beside slow actions."""
    raw = await _round_trip(bus, echo, args.n)
    base = number * 1_000_000
    counted_before = watch.count
    requests = [_request("fast", base + n) for n in range(args.n)]
    began = time.perf_counter()
    await _publish(bus, requests)
    await watch.until(lambda: all(r.request_key in watch.completed for r in requests), 600)
    rate = args.n / (time.perf_counter() - began)
    per_action = (watch.count - counted_before) / args.n
    alone = await _latencies(bus, watch, args.latency_samples, base + 900_000)
    slow = [_request("slow", base + 500_000 + n) for n in range(args.slow)]
    await _publish(bus, slow)

    def slow_started() -> bool:
        return watch.started >= {r.request_key for r in slow}

    await watch.until(slow_started, 60)  # the slow ones hold their runners now
    beside = await _latencies(bus, watch, args.latency_samples, base + 950_000)
    await watch.until(lambda: all(r.request_key in watch.completed for r in slow), 600)
    return Pass(
        raw=raw,
        rate=rate,
        per_action=per_action,
        alone_ms=statistics.median(alone) * 1000,
        beside_ms=statistics.median(beside) * 1000,
    )


def _figure(values: list[float]) -> str:
    return f"{statistics.median(values):10.1f}  (min {min(values):.1f}, max {max(values):.1f})"


def _report(args: argparse.Namespace, passes: list[Pass]) -> None:
    """Each figure the median of the passes, with min and max, then the TARGET lines."""
    print(
        f"rampart bench.broker: {len(passes)} passes of n={args.n} actions, noop connector, "
        f"RabbitMQ, embedded app, {asyncio.get_event_loop_policy().__class__.__module__}"
    )
    rows = [
        ("raw bus round trip (msg/s)", [p.raw for p in passes]),
        ("bus messages per action", [p.per_action for p in passes]),
        ("hop-bound limit (actions/s)", [p.limit for p in passes]),
        ("broker + runner (actions/s)", [p.rate for p in passes]),
        ("ratio to the hop-bound limit", [p.ratio for p in passes]),
        ("fast latency alone (ms)", [p.alone_ms for p in passes]),
        (f"… beside {args.slow} slow ({args.slow_delay:g} s) (ms)", [p.beside_ms for p in passes]),
        ("latency the slow ones add (ms)", [p.added_ms for p in passes]),
    ]
    for name, values in rows:
        print(f"  {name:<42} {_figure(values)}")
    ratio = statistics.median([p.ratio for p in passes])
    added = statistics.median([p.added_ms for p in passes])
    # "none measurable": no more than the fast latency varies from pass to pass by itself
    alone = [p.alone_ms for p in passes]
    noise = max(max(alone) - min(alone), 1.0)
    print(
        f"TARGET broker ratio to hop-bound limit: {ratio:.2f} (goal >= 0.5) "
        f"{'met' if ratio >= 0.5 else 'not met'}"
    )
    print(
        f"TARGET broker latency added by a slow connector: {added:.1f} ms "
        f"(goal <= {noise:.1f} ms, the spread of the latency alone) "
        f"{'met' if added <= noise else 'not met'}"
    )


async def run(args: argparse.Namespace) -> None:
    name = f"rampart_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(args.database_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    base, sep, query = args.database_url.partition("?")
    database_url = f"{base.rpartition('/')[0]}/{name}{sep}{query}"
    namespace = f"bench{uuid.uuid4().hex[:8]}"
    try:
        pool = await connect_pool(database_url, min_size=1, max_size=2)
        await apply_migrations(
            pool, schema=AUTH_SCHEMA, migrations=load_migrations("rampart.core.auth")
        )
        async with pool.acquire() as conn:
            _, service = await create_token(conn=conn, name="services", role=Role.SERVICE)
            _, token = await create_token(conn=conn, name="bench", role=Role.ADMIN)
        await pool.close()
        port = free_port()
        settings = Settings(
            database_url=SecretStr(database_url),
            master_key=SecretStr(Keyring.generate_key_text()),
            public_url=f"http://127.0.0.1:{port}",
            service_token=SecretStr(service),
            bus_namespace=namespace,
            db_pool_max=20,
        )
        # the machine's RabbitMQ is shared: confirms of a burst may take longer than 10 s
        bus = RabbitBus(args.amqp_url, topology=Topology(namespace), publish_timeout_s=60)
        specs = all_specs()
        app = create_app(specs, settings, bus=bus, title="Rampart bench")
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, log_level="warning")
        )
        serving = asyncio.create_task(server.serve())
        try:
            while not server.started:
                if serving.done():
                    raise RuntimeError("the app did not start")
                await asyncio.sleep(0.05)
            headers = {"Authorization": f"Bearer {token}"}
            async with httpx.AsyncClient(base_url=settings.public_url, timeout=30) as client:
                await _create(client, headers, "fast")
                await _create(client, headers, "slow", delay_seconds=args.slow_delay)
            watch = Watch()
            await bus.subscribe("bench.watch", ("#",), watch.handle)
            await _latencies(bus, watch, 5)  # warm-up
            echo = Watch(probes=True)
            await bus.subscribe("bench.echo", ("action.started",), echo.handle)
            passes = [await _pass(bus, watch, echo, args, n) for n in range(args.passes)]
            _report(args, passes)
        finally:
            server.should_exit = True
            await asyncio.wait_for(serving, 60)
            queues = ["bench.watch", "bench.echo", *(q for s in specs for q in s.queue_names)]
            await delete_namespace(args.amqp_url, namespace, queues)
    finally:
        admin = await asyncpg.connect(args.database_url)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument(
        "--passes", type=int, default=int(os.environ.get("RAMPART_BENCH_REPEAT", "5"))
    )
    parser.add_argument("--slow", type=int, default=8)
    parser.add_argument("--slow-delay", type=float, default=3.0)
    parser.add_argument("--latency-samples", type=int, default=20)
    parser.add_argument(
        "--database-url", default=os.environ.get("RAMPART_TEST_DATABASE_URL", DEFAULT_DATABASE_URL)
    )
    parser.add_argument(
        "--amqp-url", default=os.environ.get("RAMPART_TEST_AMQP_URL", DEFAULT_AMQP_URL)
    )
    uvloop.install()
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
