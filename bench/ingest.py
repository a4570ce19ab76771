"""Webhook ingest throughput: a real ``rampart serve ingest`` on RabbitMQ and PostgreSQL.

Measures, in one run:

* the raw baseline: aio-pika publishing persistent messages with confirms to a quorum queue,
  200 at a time, as the outbox relay does;
* single events: one signed webhook request per event, many requests in flight;
* batches: webhook requests of 100 events each;
* the web framework floor: the same single-event requests, from the same client, to a
  minimal FastAPI endpoint with a pydantic body (``bench.echo_app``) in its own uvicorn
  process, answered at once.

An ingest figure counts from the first request until every request was answered 202 *and*
every ``event.ingested`` message is in a queue bound to the service's exchange (nobody
consumes it, as nobody consumes the baseline's queue), so it is the end-to-end rate: HTTP,
signature check, parsing, the database commit, the outbox and RabbitMQ. The client is a
minimal keep-alive HTTP/1.1 client so that the benchmark itself
takes little of the machine's two cores.

Each figure is the median of ``--repeat`` interleaved passes (default 5, env
``RAMPART_BENCH_REPEAT``) with their min and max; the bench runs on uvloop, as the services
do, and ends with one ``TARGET`` line per target.

Run: ``.venv/bin/python -m bench.ingest [-n EVENTS] [--repeat N] [--profile]``.
Servers: ``RAMPART_BENCH_AMQP_URL``, ``RAMPART_BENCH_DATABASE_URL`` (a server URL; the bench
makes and drops its own database).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import pstats
import signal
import socket
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aio_pika
import asyncpg
import uvloop

from bench._common import target_line
from rampart.core.auth import Role, create_token
from rampart.ingest.sources.webhook_auth import sign

DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/test"
RAW_BATCH = 200
EVENTS_PER_BATCH = 100
TIMEOUT_S = 300.0
RAMPART = str(Path(sys.executable).with_name("rampart"))


@dataclass(slots=True)
class Figure:
    """Rates of the timed passes of one measurement."""

    name: str
    rates: list[float] = field(default_factory=list)
    accepted: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.rates)

    def cells(self) -> str:
        """Median, min and max, right-aligned."""
        return f"{self.median:>9,.0f}{min(self.rates):>9,.0f}{max(self.rates):>9,.0f}"


# -- a small HTTP/1.1 keep-alive client ------------------------------------------------------


class Connection:
    """One keep-alive HTTP/1.1 connection; requests go one after another."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}"]
        lines.extend(f"{k}: {v}" for k, v in headers.items())
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        self.writer.close()


# -- the service under test -------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _with_database(url: str, database: str) -> str:
    base, sep, query = url.partition("?")
    return f"{base.rpartition('/')[0]}/{database}{sep}{query}"


@dataclass(slots=True)
class Service:
    """The running ingest process, its database, a signed source and a queue to count on.

    Nobody consumes the queue, as nobody consumes the raw baseline's: a message counts once
    RabbitMQ has it, which is when the relay's publish is confirmed.
    """

    port: int
    pid: int
    database_url: str
    source: str
    secret: str
    namespace: str
    channel: Any = None
    queue: Any = None

    async def reset(self) -> None:
        """Empty the counting queue before a round."""
        await self.queue.purge()

    async def queued(self) -> int:
        """How many ``event.ingested`` messages the queue holds."""
        declared = await self.queue.declare()
        return int(declared.message_count or 0)

    async def wait_queued(self, count: int) -> None:
        """Return once the queue holds ``count`` messages."""
        # RabbitMQ tells the count only when asked: poll it
        while await self.queued() < count:  # noqa: ASYNC110
            await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def running_service(
    amqp_url: str, server_url: str, *, profile_to: Path | None
) -> AsyncIterator[Service]:
    """Start ``rampart serve ingest`` on a fresh database and namespace; clean up after."""
    suffix = uuid.uuid4().hex[:10]
    database = f"rampart_bench_{suffix}"
    namespace = f"benchi{suffix}"
    admin = await asyncpg.connect(server_url)
    await admin.execute(f'CREATE DATABASE "{database}"')
    await admin.close()
    database_url = _with_database(server_url, database)
    port = _free_port()
    # the ingest service's own settings pass through, so a run can try other values
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("RAMPART_") or k.startswith("RAMPART_INGEST_")
    }
    env.update(
        {
            "RAMPART_MODE": "distributed",
            "RAMPART_DATABASE_URL": database_url,
            "RAMPART_AMQP_URL": amqp_url,
            "RAMPART_MASTER_KEY": _master_key(),
            "RAMPART_BUS_NAMESPACE": namespace,
            "RAMPART_LOG_LEVEL": "WARNING",
            "RAMPART_DB_POOL_MAX": "16",
        }
    )
    command = [RAMPART, "serve", "ingest", "--port", str(port)]
    if profile_to is not None:
        script = Path(tempfile.mkdtemp(prefix="rampart-bench-")) / "serve.py"
        # uvicorn re-raises SIGTERM after its graceful stop; exiting normally lets cProfile write
        script.write_text(
            "import signal, sys\n"
            "signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))\n"
            "from rampart.cli import main\nmain()\n"
        )
        command = [
            sys.executable,
            "-m",
            "cProfile",
            "-o",
            str(profile_to),
            str(script),
            *command[1:],
        ]
    log = Path(tempfile.mkdtemp(prefix="rampart-bench-")) / "ingest.log"
    log_fd = os.open(log, os.O_WRONLY | os.O_CREAT, 0o600)
    process = await asyncio.create_subprocess_exec(
        *command, env=env, stdout=log_fd, stderr=asyncio.subprocess.STDOUT
    )
    os.close(log_fd)
    connection = None
    try:
        await _wait_ready(port, process, log)
        service = Service(port, process.pid, database_url, "bench", "", namespace)
        conn = await asyncpg.connect(database_url)
        try:
            _, token = await create_token(conn=conn, name="bench", role=Role.ADMIN)
        finally:
            await conn.close()
        made = await _post_json(
            port,
            "/api/v1/sources",
            {"name": "bench", "kind": "splunk", "auth": "hmac"},
            {"Authorization": f"Bearer {token}"},
        )
        service.secret = made["secret"]
        connection = await aio_pika.connect_robust(amqp_url)
        channel = await connection.channel()
        exchange = await channel.declare_exchange(
            namespace, aio_pika.ExchangeType.TOPIC, durable=True
        )
        queue = await channel.declare_queue(
            f"{namespace}.bench-watch", durable=True, arguments={"x-queue-type": "quorum"}
        )
        await queue.bind(exchange, routing_key="event.ingested")
        service.channel = channel
        service.queue = queue
        yield service
    finally:
        # stop the service first: while it runs it would declare its queues again
        await _stop(process)
        if connection is not None:
            with contextlib.suppress(Exception):
                channel = await connection.channel()
                await channel.queue_delete(f"{namespace}.bench-watch")
                for queue_name in ("ingest.sla", "ingest.changes"):
                    for name in (f"{namespace}.{queue_name}", f"{namespace}.{queue_name}.dead"):
                        channel = await connection.channel()
                        await channel.queue_delete(name)
                for exchange_name in (namespace, f"{namespace}.dlx"):
                    channel = await connection.channel()
                    await channel.exchange_delete(exchange_name)
            await connection.close()
        admin = await asyncpg.connect(server_url)
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.close()


async def _stop(process: asyncio.subprocess.Process) -> None:
    """SIGTERM, then SIGKILL if it has not ended within a minute."""
    process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), 60)
    except TimeoutError:
        process.kill()
        await process.wait()


@contextlib.asynccontextmanager
async def running_echo() -> AsyncIterator[int]:
    """Serve ``bench.echo_app`` with uvicorn in its own process; yield its port."""
    port = _free_port()
    log = Path(tempfile.mkdtemp(prefix="rampart-bench-")) / "echo.log"
    log_fd = os.open(log, os.O_WRONLY | os.O_CREAT, 0o600)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "uvicorn",
        "bench.echo_app:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        stdout=log_fd,
        stderr=asyncio.subprocess.STDOUT,
    )
    os.close(log_fd)
    try:
        await _wait_ready(port, process, log)
        yield port
    finally:
        await _stop(process)


def _master_key() -> str:
    from rampart.core.crypto import Keyring

    return Keyring.generate_key_text()


async def _wait_ready(port: int, process: asyncio.subprocess.Process, log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.returncode is not None:
            raise RuntimeError(f"the ingest service exited:\n{_tail(log)}")
        with contextlib.suppress(OSError, ValueError, asyncio.IncompleteReadError):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            answer = await reader.read()
            writer.close()
            if answer.startswith(b"HTTP/1.1 200"):
                return
        await asyncio.sleep(0.25)
    raise RuntimeError(f"the ingest service did not get ready:\n{_tail(log)}")


def _tail(log: Path) -> str:
    with log.open(errors="replace") as handle:
        return handle.read()[-3000:]


async def _post_json(port: int, path: str, payload: Any, headers: dict[str, str]) -> Any:
    connection = await Connection.open(port)
    try:
        status, body = await connection.post(
            path, json.dumps(payload).encode(), {"Content-Type": "application/json", **headers}
        )
    finally:
        connection.close()
    if status >= 300:
        raise RuntimeError(f"POST {path} answered {status}: {body[:300]!r}")
    return json.loads(body)


# -- measurements ----------------------------------------------------------------------------


def _notable(run: str, i: int) -> dict[str, Any]:
    return {
        "rule_name": "Excessive Failed Logins",
        "urgency": "high",
        "src": f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}",
        "dest": "web-01.corp.example.com",
        "user": "alice",
        "event_id": f"{run}-{i}",
        "_time": "1700000000.000",
    }


def _requests(
    service: Service, run: str, events: int, per_request: int
) -> list[tuple[bytes, dict[str, str]]]:
    """Signed request bodies made before the clock starts, as a SIEM would have them ready."""
    out = []
    now = int(time.time())
    for start in range(0, events, per_request):
        items = [_notable(run, i) for i in range(start, min(start + per_request, events))]
        body = json.dumps(items[0] if per_request == 1 else items).encode()
        webhook_id = f"msg_{run}_{start}"
        headers = {
            "Content-Type": "application/json",
            "webhook-id": webhook_id,
            "webhook-timestamp": str(now),
            "webhook-signature": sign(
                service.secret, webhook_id=webhook_id, timestamp=now, body=body
            ),
        }
        out.append((body, headers))
    return out


async def _post_all(
    connections: list[Connection], path: str, requests: list[tuple[bytes, dict[str, str]]]
) -> None:
    """Send every request over ``connections``, one in flight on each; raise unless all 202."""
    position = 0
    failures: list[str] = []

    async def worker(connection: Connection) -> None:
        nonlocal position
        while position < len(requests):
            body, headers = requests[position]
            position += 1
            status, answer = await connection.post(path, body, headers)
            if status != 202:
                failures.append(f"{status}: {answer[:200]!r}")

    await asyncio.wait_for(asyncio.gather(*(worker(c) for c in connections)), TIMEOUT_S)
    if failures:
        raise RuntimeError(f"{len(failures)} requests to {path} failed, e.g. {failures[0]}")


async def echo_round(service: Service, port: int, *, events: int, concurrency: int) -> float:
    """Seconds for the single-event requests, signed alike, to the minimal FastAPI endpoint."""
    requests = _requests(service, uuid.uuid4().hex[:8], events, 1)
    connections = [await Connection.open(port) for _ in range(concurrency)]
    start = time.perf_counter()
    try:
        await _post_all(connections, f"/api/v1/ingest/{service.source}", requests)
        return time.perf_counter() - start
    finally:
        for connection in connections:
            connection.close()


async def ingest_round(
    service: Service, *, events: int, per_request: int, concurrency: int
) -> tuple[float, float]:
    """Seconds until every request was accepted, and until RabbitMQ had every message."""
    run = uuid.uuid4().hex[:8]
    requests = _requests(service, run, events, per_request)
    connections = [await Connection.open(service.port) for _ in range(concurrency)]
    await service.reset()
    start = time.perf_counter()
    try:
        await _post_all(connections, f"/api/v1/ingest/{service.source}", requests)
        accepted = time.perf_counter() - start
        await asyncio.wait_for(service.wait_queued(events), TIMEOUT_S)
        delivered = time.perf_counter() - start
    finally:
        for connection in connections:
            connection.close()
    return accepted, delivered


class RawPublisher:
    """Persistent messages with confirms to a quorum queue, 200 in flight, as the relay does."""

    def __init__(self, amqp_url: str) -> None:
        self._url = amqp_url
        self._name = f"benchi-raw-{uuid.uuid4().hex[:8]}"
        self._connection: Any = None
        self._exchange: Any = None
        self._queue: Any = None
        self._body = json.dumps(
            {"specversion": "1.0", "type": "rampart.event.ingested.v1", "data": _notable("raw", 0)}
        ).encode()

    async def open(self) -> None:
        self._connection = await aio_pika.connect(self._url)
        channel = await self._connection.channel(publisher_confirms=True)
        self._exchange = await channel.declare_exchange(
            self._name, aio_pika.ExchangeType.TOPIC, durable=True
        )
        self._queue = await channel.declare_queue(
            self._name, durable=True, arguments={"x-queue-type": "quorum"}
        )
        await self._queue.bind(self._exchange, routing_key="event.ingested")

    async def round(self, n: int) -> float:
        """Seconds to publish ``n`` messages and have every confirm."""
        await self._queue.purge()
        start = time.perf_counter()
        for offset in range(0, n, RAW_BATCH):
            await asyncio.gather(
                *(
                    self._exchange.publish(
                        aio_pika.Message(
                            body=self._body,
                            content_type="application/cloudevents+json",
                            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                            message_id=str(uuid.uuid4()),
                        ),
                        "event.ingested",
                    )
                    for _ in range(min(RAW_BATCH, n - offset))
                )
            )
        return time.perf_counter() - start

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self._queue.delete(if_unused=False, if_empty=False)
            await self._exchange.delete()
        if self._connection is not None:
            await self._connection.close()


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(slots=True)
class Pass:
    """One interleaved pass: both baselines and both ingest rates, with the service's CPU."""

    raw: float
    echo: float
    single: float
    single_accepted: float
    single_cpu: float
    batch: float
    batch_accepted: float
    batch_cpu: float
    load: float


async def one_pass(
    service: Service,
    raw: RawPublisher,
    echo_port: int,
    *,
    n: int,
    concurrency: int,
    batch_concurrency: int,
) -> Pass:
    """Raw, the FastAPI floor, single and batched, one after the other, so neighbours' load
    weighs on all four."""
    raw_s = await raw.round(n)
    echo_s = await echo_round(service, echo_port, events=n, concurrency=concurrency)
    cpu0 = _cpu_seconds(service.pid)
    accepted, delivered = await ingest_round(
        service, events=n, per_request=1, concurrency=concurrency
    )
    single_cpu = (_cpu_seconds(service.pid) - cpu0) / delivered
    cpu0 = _cpu_seconds(service.pid)
    b_accepted, b_delivered = await ingest_round(
        service, events=n, per_request=EVENTS_PER_BATCH, concurrency=batch_concurrency
    )
    batch_cpu = (_cpu_seconds(service.pid) - cpu0) / b_delivered
    return Pass(
        raw=n / raw_s,
        echo=n / echo_s,
        single=n / delivered,
        single_accepted=n / accepted,
        single_cpu=single_cpu,
        batch=n / b_delivered,
        batch_accepted=n / b_accepted,
        batch_cpu=batch_cpu,
        load=os.getloadavg()[0],
    )


def _report(n: int, passes: list[Pass]) -> str:
    raw = Figure("raw aio-pika publish + confirm (baseline)", [p.raw for p in passes])
    echo = Figure("minimal FastAPI JSON endpoint (baseline)", [p.echo for p in passes])
    single = Figure("webhook, 1 event per request", [p.single for p in passes])
    single.accepted = [p.single_accepted for p in passes]
    batch = Figure(f"webhook, {EVENTS_PER_BATCH} events per request", [p.batch for p in passes])
    batch.accepted = [p.batch_accepted for p in passes]
    single_ratio = single.median / echo.median
    batch_ratio = batch.median / raw.median
    lines = [
        f"ingest benchmark: {n} events per round, median of {len(passes)} interleaved passes "
        f"(min, max), {os.cpu_count()} cores, "
        f"{asyncio.get_event_loop_policy().__class__.__module__}. Ingest rates are end to end: "
        "every request answered 202 and every event.ingested confirmed into a RabbitMQ queue "
        "(unconsumed, like #1's).",
        "",
        f"{'#':<3}{'figure':<46}{'median':>9}{'min':>9}{'max':>9}  {'unit':<9}{'ratio':<12}target",
        f"{'1':<3}{raw.name:<46}{raw.cells()}  {'msg/s':<9}{'baseline':<12}",
        f"{'2':<3}{echo.name:<46}{echo.cells()}  {'req/s':<9}{'baseline':<12}",
        f"{'3':<3}{single.name:<46}{single.cells()}  "
        f"{'events/s':<9}{single_ratio:<5.2f} x #2  >= 0.50 x #2",
        f"{'4':<3}{batch.name:<46}{batch.cells()}  "
        f"{'events/s':<9}{batch_ratio:<5.2f} x #1  >= 0.80 x #1",
        "",
        "per pass: raw msg/s | FastAPI req/s | single events/s (202 rate, service CPU) ratio "
        "to FastAPI | batched events/s (202 rate, service CPU) ratio to raw | 1-min load",
    ]
    for i, p in enumerate(passes, start=1):
        lines.append(
            f"  pass {i}: {p.raw:7,.0f} | {p.echo:6,.0f} | {p.single:6,.0f} "
            f"({p.single_accepted:6,.0f}/s, {p.single_cpu:4.0%}) ratio {p.single / p.echo:4.2f} "
            f"| {p.batch:6,.0f} ({p.batch_accepted:6,.0f}/s, {p.batch_cpu:4.0%}) "
            f"ratio {p.batch / p.raw:4.2f} | {p.load:4.1f}"
        )
    lines += [
        "",
        target_line(
            "ingest batched-webhook-100 / raw-publish-confirm",
            f"{batch_ratio:.2f}",
            ">= 0.80",
            batch_ratio >= 0.80,
        ),
        target_line(
            "ingest single-webhook / minimal-fastapi-endpoint",
            f"{single_ratio:.2f}",
            ">= 0.50",
            single_ratio >= 0.50,
        ),
    ]
    return "\n".join(lines)


async def run(argv: Sequence[str] | None = None) -> None:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(prog="python -m bench.ingest", description=__doc__)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument(
        "-n",
        type=int,
        default=int(os.environ.get("RAMPART_BENCH_N", "3000")),
        help="events (and raw messages) per round (default 3000)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=int(os.environ.get("RAMPART_BENCH_REPEAT", "5")),
        help="interleaved passes; each figure is their median (default 5)",
    )
    parser.add_argument(
        "--concurrency", type=int, default=64, help="single-event requests in flight"
    )
    parser.add_argument("--batch-concurrency", type=int, default=4, help="batch requests in flight")
    parser.add_argument(
        "--profile", action="store_true", help="run the service under cProfile and print its top"
    )
    args = parser.parse_args(argv)
    amqp_url = os.environ.get("RAMPART_BENCH_AMQP_URL", DEFAULT_AMQP_URL)
    server_url = os.environ.get("RAMPART_BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    profile_to = None
    if args.profile:
        profile_to = Path(tempfile.mkdtemp(prefix="rampart-bench-")) / "ingest.prof"
    raw = RawPublisher(amqp_url)
    await raw.open()
    passes: list[Pass] = []
    try:
        async with (
            running_service(amqp_url, server_url, profile_to=profile_to) as service,
            running_echo() as echo_port,
        ):
            # a warm-up round of each, untimed
            await raw.round(max(args.n // 5, RAW_BATCH))
            await echo_round(
                service, echo_port, events=max(args.n // 5, 100), concurrency=args.concurrency
            )
            await ingest_round(
                service, events=max(args.n // 5, 100), per_request=1, concurrency=args.concurrency
            )
            await ingest_round(
                service,
                events=max(args.n // 5, 100),
                per_request=EVENTS_PER_BATCH,
                concurrency=args.batch_concurrency,
            )
            for _ in range(args.repeat):
                passes.append(
                    await one_pass(
                        service,
                        raw,
                        echo_port,
                        n=args.n,
                        concurrency=args.concurrency,
                        batch_concurrency=args.batch_concurrency,
                    )
                )
    finally:
        await raw.close()
    print(_report(args.n, passes))
    if profile_to is not None:
        for _ in range(50):
            if profile_to.exists():
                break
            await asyncio.sleep(0.2)
        print("\nwhere the ingest process spent its time (cProfile, top 30 by own time):")
        pstats.Stats(str(profile_to)).sort_stats(pstats.SortKey.TIME).print_stats(30)


def main() -> None:
    """Entry point of ``python -m bench.ingest``, on uvloop as the services run."""
    uvloop.install()
    asyncio.run(run())


if __name__ == "__main__":
    main()
