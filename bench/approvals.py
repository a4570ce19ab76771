"""``python -m bench.approvals``: escalation delay with 100,000 pending approvals, decisions/s,
and notifications/s to a local SMTP server.

Real ``rampart serve approvals`` processes (one, then two) on RabbitMQ and PostgreSQL. The
bench loads ``RAMPART_BENCH_APPROVALS`` pending approvals (default 100,000) whose primary
stages come due one after another at ``RAMPART_BENCH_DUE_RATE`` per second, and measures, for
every approval that came due in the measured window, the delay from its due time to the
moment a replica escalated it (the escalation's own history row). Then it measures decisions
per second through the HTTP API beside a raw ``/healthz`` request rate from the same client,
and notifications per second: ``--notifications`` due notifications delivered by one replica
(with the asset registry it reads contacts from) to an SMTP server in this process
(aiosmtpd), from their commit to the last message the server accepted, beside a raw SMTP
send rate to the same server in the same pass: the very mails the service sent, sent again
by plain ``smtplib`` from a process of their own, one connection per mail as the service
does, on as many threads as the service's sender pool. Each figure, and each ratio, is the
median of ``--repeat`` passes, with min and max. Nothing asserts on time.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import smtplib
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench._common import DEFAULT_AMQP_URL, DEFAULT_DATABASE_URL, exit_code_of
from rampart.core.auth import Role, create_token
from rampart.core.crypto import Keyring
from rampart.core.store import connect_pool

RAMPART = str(Path(sys.executable).with_name("rampart"))
LEAD_S = 5.0


def _settings(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.approvals", description=__doc__)
    parser.add_argument(
        "--approvals", type=int, default=int(os.environ.get("RAMPART_BENCH_APPROVALS", "100000"))
    )
    parser.add_argument(
        "--due-rate", type=float, default=float(os.environ.get("RAMPART_BENCH_DUE_RATE", "200"))
    )
    parser.add_argument(
        "--window", type=float, default=float(os.environ.get("RAMPART_BENCH_WINDOW_S", "20"))
    )
    parser.add_argument(
        "--decisions", type=int, default=int(os.environ.get("RAMPART_BENCH_DECISIONS", "1000"))
    )
    parser.add_argument(
        "--replicas",
        default=os.environ.get("RAMPART_BENCH_REPLICAS", "1,2"),
        help="the replica counts of the escalation passes, comma-separated",
    )
    parser.add_argument(
        "--notifications",
        type=int,
        default=int(os.environ.get("RAMPART_BENCH_NOTIFICATIONS", "1000")),
    )
    parser.add_argument(
        "--repeat", type=int, default=int(os.environ.get("RAMPART_BENCH_REPEAT", "5"))
    )
    parser.add_argument(
        "--amqp-url", default=os.environ.get("RAMPART_BENCH_AMQP_URL", DEFAULT_AMQP_URL)
    )
    parser.add_argument(
        "--database-url", default=os.environ.get("RAMPART_BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    )
    return parser.parse_args(argv)


def _with_database(url: str, database: str) -> str:
    base, sep, query = url.partition("?")
    return f"{base.rpartition('/')[0]}/{database}{sep}{query}"


@asynccontextmanager
async def _database(server_url: str) -> AsyncIterator[str]:
    name = f"rampart_bench_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(server_url)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    try:
        yield _with_database(server_url, name)
    finally:
        conn = await asyncpg.connect(server_url)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def _replicas(
    count: int, env: dict[str, str], logs: Path, service: str = "approvals"
) -> AsyncIterator[list[str]]:
    procs: list[asyncio.subprocess.Process] = []
    urls: list[str] = []
    for i in range(count):
        port = _free_port()
        with (logs / f"{service}-{count}-{i}.log").open("ab") as log:
            procs.append(
                await asyncio.create_subprocess_exec(
                    RAMPART, "serve", service, "--port", str(port),
                    env=env, stdout=log, stderr=asyncio.subprocess.STDOUT,
                )
            )  # fmt: skip
        urls.append(f"http://127.0.0.1:{port}")
    try:
        async with httpx.AsyncClient(timeout=2) as client:
            for url in urls:
                for _ in range(400):
                    try:
                        if (await client.get(f"{url}/readyz")).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    await asyncio.sleep(0.25)
                else:
                    raise RuntimeError(f"{url} did not get ready; see {logs}")
        yield urls
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            await asyncio.wait_for(proc.wait(), 60)


async def _seed(
    pool: Any, *, count: int, first_due: datetime, rate: float, owners: tuple[uuid.UUID, uuid.UUID]
) -> dict[uuid.UUID, datetime]:
    """Load ``count`` pending approvals due one after another at ``rate`` per second.

    Loading 100,000 rows takes longer than any fixed lead time on a loaded machine, and a
    stage due before the load committed measures the load, not the timer loop. So the rows
    are written due an hour later than asked, then brought forward by one statement that
    starts the first ``LEAD_S`` after it; the due times are read back from the rows.
    """
    asked = first_due
    first_due = first_due + timedelta(hours=1)
    stages = [
        {"stage": "primary", "assignees": [str(owners[0])], "sla_minutes": 1},
        {"stage": "secondary", "assignees": [str(owners[1])], "sla_minutes": 60},
    ]
    approvals, assignees, timers = [], [], []
    due: dict[uuid.UUID, datetime] = {}
    for i in range(count):
        approval_id = uuid.uuid4()
        at = first_due + timedelta(seconds=i / rate)
        created = at - timedelta(minutes=1)
        due[approval_id] = at
        approvals.append((
            approval_id, uuid.uuid4(), f"bench-{i}", "terminate process", "web-01", "ssh",
            {"pid": i}, "f" * 64, "playbook:bench", None, 1, stages,
            0, "primary", "pending", at, created,
        ))  # fmt: skip
        assignees.append((approval_id, 0, owners[0], None))
        assignees.append((approval_id, 1, owners[1], None))
        timers.append((
            uuid.uuid4(), "approval", approval_id, None, "pending", created,
            timedelta(minutes=1), at, at,
        ))  # fmt: skip
    async with pool.acquire() as conn, conn.transaction():
        # jsonb columns take the pool's text codec, which COPY's binary format cannot use
        await conn.executemany(
            "INSERT INTO approvals.approvals (id, action_run_id, request_key, action, asset, "
            "connector, params, fingerprint, requested_by, event_id, required_approvals, stages, "
            "stage_index, stage, status, due_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, "
            "$8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
            approvals,
        )
        await conn.copy_records_to_table(
            "approval_assignees", schema_name="approvals", records=assignees,
            columns=["approval_id", "stage_index", "owner_id", "via_group"],
        )  # fmt: skip
        await conn.copy_records_to_table(
            "sla_timers", schema_name="approvals", records=timers,
            columns=["id", "subject_kind", "subject_id", "event_id", "status", "started_at",
                     "budget", "due_at", "warn_at"],
        )  # fmt: skip
        await conn.execute("ANALYZE approvals.sla_timers")
    if asked > datetime.now(UTC) + timedelta(minutes=30):
        return due  # not meant to come due during the pass
    async with pool.acquire() as conn, conn.transaction():
        shift = f"((now() + interval '{LEAD_S} seconds') - $1::timestamptz)"
        # a pass starts on empty tables: every pending row is one of this load's
        await conn.execute(
            f"UPDATE approvals.sla_timers SET due_at = due_at + {shift}, "
            f"warn_at = warn_at + {shift} WHERE status = 'pending'",
            first_due,
        )
        rows = await conn.fetch(
            f"UPDATE approvals.approvals SET due_at = due_at + {shift} "
            "WHERE status = 'pending' RETURNING id, due_at",
            first_due,
        )
    return {r["id"]: r["due_at"] for r in rows}


async def _escalation_delays(
    pool: Any, urls_ready: list[str], due: dict[uuid.UUID, datetime], *, until: datetime
) -> list[float]:
    """Seconds from each due time up to ``until`` to its escalation, once all are escalated."""
    expected = {a for a, at in due.items() if at <= until}
    deadline = time.monotonic() + 120
    while True:
        async with pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT approval_id, at FROM approvals.approval_history WHERE kind = 'escalated' "
                "AND approval_id = ANY($1::uuid[])",
                list(expected),
            )
        if len(rows) >= len(expected) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    del urls_ready
    return [(r["at"] - due[r["approval_id"]]).total_seconds() for r in rows]


async def _empty(pool: Any) -> None:
    """Forget one pass's approvals once its replicas have stopped (no lock to wait for)."""
    async with pool.acquire() as conn:
        await conn.execute(
            "TRUNCATE approvals.approvals, approvals.approval_assignees, "
            "approvals.approval_history, approvals.approval_decisions, approvals.sla_timers, "
            "approvals.outbox CASCADE"
        )


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def _escalation_pass(
    settings: argparse.Namespace, env: dict[str, str], database_url: str, replicas: int, logs: Path
) -> tuple[float, float, int]:
    pool = await connect_pool(database_url, min_size=1, max_size=4)
    try:
        async with _replicas(replicas, env, logs) as urls:
            owners = (uuid.uuid4(), uuid.uuid4())
            due = await _seed(
                pool, count=settings.approvals, first_due=datetime.now(UTC), rate=settings.due_rate,
                owners=owners,
            )  # fmt: skip
            until = min(due.values()) + timedelta(seconds=settings.window)
            await asyncio.sleep(max(0.0, (until - datetime.now(UTC)).total_seconds()))
            delays = await _escalation_delays(pool, urls, due, until=until)
        await _empty(pool)
    finally:
        await pool.close()
    return _percentile(delays, 0.99), statistics.median(delays), len(delays)


async def _decision_pass(
    settings: argparse.Namespace, env: dict[str, str], database_url: str, logs: Path
) -> tuple[float, float]:
    """Decisions/s through the API, and raw /healthz requests/s from the same client."""
    pool = await connect_pool(database_url, min_size=1, max_size=4)
    try:
        async with _replicas(1, env, logs) as urls:
            owner = uuid.uuid4()
            async with pool.acquire() as conn:
                _, token = await create_token(
                    conn=conn, name=f"bench-{owner}", role=Role.APPROVER, subject=str(owner)
                )
            due = await _seed(
                pool, count=settings.decisions, first_due=datetime.now(UTC) + timedelta(hours=6),
                rate=1000.0, owners=(owner, owner),
            )  # fmt: skip
            ids = list(due)
            headers = {"Authorization": f"Bearer {token}"}
            limits = httpx.Limits(max_connections=16)
            async with httpx.AsyncClient(base_url=urls[0], headers=headers, limits=limits) as c:
                sem = asyncio.Semaphore(16)

                async def decide(approval_id: uuid.UUID) -> None:
                    async with sem:
                        r = await c.post(
                            f"/api/v1/approvals/{approval_id}/decision",
                            json={"decision": "approve"},
                        )
                        r.raise_for_status()

                async def probe() -> None:
                    async with sem:
                        (await c.get("/healthz")).raise_for_status()

                began = time.perf_counter()
                await asyncio.gather(*(probe() for _ in ids))
                raw = len(ids) / (time.perf_counter() - began)
                began = time.perf_counter()
                await asyncio.gather(*(decide(a) for a in ids))
                decisions = len(ids) / (time.perf_counter() - began)
        await _empty(pool)
    finally:
        await pool.close()
    return decisions, raw


Mail = tuple[str, list[str], bytes]
"""One mail as the SMTP server took it: envelope sender, recipients, content."""


class _Mailbox:
    """An SMTP server's handler that keeps what it accepts and says when it has ``expected``."""

    def __init__(self) -> None:
        self.mails: list[Mail] = []
        self.expected = 0
        self.done = asyncio.Event()
        self.loop = asyncio.get_running_loop()

    def expect(self, count: int) -> None:
        """Forget what came before and wait for ``count`` mails."""
        self.mails, self.expected = [], count
        self.done.clear()

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        self.mails.append((envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content)))
        if len(self.mails) >= self.expected:
            self.loop.call_soon_threadsafe(self.done.set)
        return "250 Message accepted for delivery"


def _raw_smtp_sends(host: str, port: int, mails: list[Mail]) -> float:
    """Send ``mails`` with plain ``smtplib``, one connection each, on as many threads as
    ``asyncio.to_thread`` has (the service's sender pool); the seconds it took."""

    def send(mail: Mail) -> None:
        with smtplib.SMTP(host, port, timeout=10) as smtp:
            smtp.sendmail(mail[0], mail[1], mail[2])

    with ThreadPoolExecutor() as threads:
        began = time.perf_counter()
        list(threads.map(send, mails))
        return time.perf_counter() - began


def _ready() -> None:
    """Nothing: run once so the raw sender's process is up before it is timed."""


async def _notification_pass(
    settings: argparse.Namespace,
    env: dict[str, str],
    database_url: str,
    logs: Path,
    raw_sender: ProcessPoolExecutor,
) -> tuple[float, float]:
    """Notifications/s (due notifications, one replica, mail to an SMTP server in this process)
    and the raw SMTP sends/s of the same mails to the same server."""
    from aiosmtpd.controller import Controller

    box = _Mailbox()
    smtp_port = _free_port()
    controller = Controller(box, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    pool = await connect_pool(database_url, min_size=1, max_size=4)
    try:
        async with _replicas(1, env, logs, service="asset-registry") as registry:
            async with pool.acquire() as conn:
                _, admin = await create_token(conn=conn, name="bench-admin", role=Role.ADMIN)
                _, service = await create_token(conn=conn, name="bench", role=Role.SERVICE)
            owners: list[uuid.UUID] = []
            async with httpx.AsyncClient(
                base_url=registry[0], headers={"Authorization": f"Bearer {admin}"}
            ) as client:
                for i in range(10):
                    made = await client.post(
                        "/api/v1/owners",
                        json={"name": f"bench-{uuid.uuid4().hex[:6]}-{i}", "kind": "person",
                              "email": f"owner{i}@bench.example"},
                    )  # fmt: skip
                    made.raise_for_status()
                    owners.append(uuid.UUID(made.json()["id"]))
            mail_env = {
                **env,
                "RAMPART_ASSETS_URL": registry[0],
                "RAMPART_SERVICE_TOKEN": service,
                "RAMPART_APPROVALS_SMTP_HOST": "127.0.0.1",
                "RAMPART_APPROVALS_SMTP_PORT": str(smtp_port),
                "RAMPART_APPROVALS_INTERVAL_S": "0.1",
            }
            async with _replicas(1, mail_env, logs):
                count = settings.notifications
                due = await _seed(
                    pool, count=count, first_due=datetime.now(UTC) + timedelta(hours=6),
                    rate=1000.0, owners=(owners[0], owners[1]),
                )  # fmt: skip
                now = datetime.now(UTC)
                rows = [
                    (uuid.uuid4(), approval_id, 0, "primary", owners[i % len(owners)], "stage",
                     at, now, now)
                    for i, (approval_id, at) in enumerate(due.items())
                ]  # fmt: skip
                box.expect(count)
                async with pool.acquire() as conn:
                    began = time.perf_counter()
                    await conn.copy_records_to_table(
                        "approval_notifications", schema_name="approvals", records=rows,
                        columns=["id", "approval_id", "stage_index", "stage", "owner_id",
                                 "reason", "link_expires_at", "next_attempt_at", "created_at"],
                    )  # fmt: skip
                await asyncio.wait_for(box.done.wait(), 600)
                rate = count / (time.perf_counter() - began)
        # the service is gone: the raw sends have the machine the service had
        sent = box.mails
        box.expect(len(sent))
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(raw_sender, _ready)
        took = await loop.run_in_executor(raw_sender, _raw_smtp_sends, "127.0.0.1", smtp_port, sent)
        await asyncio.wait_for(box.done.wait(), 60)
        raw = len(sent) / took
        await _empty(pool)
    finally:
        await pool.close()
        controller.stop()
    return rate, raw


def _spread(values: list[float]) -> str:
    return f"median {statistics.median(values):.3f} (min {min(values):.3f}, max {max(values):.3f})"


async def main(argv: Sequence[str] | None = None) -> None:
    """Run every pass and print the figures and one TARGET line per target."""
    settings = _settings(argv)
    logs = Path(tempfile.mkdtemp(prefix="rampart-bench-approvals-"))
    namespace = f"bench{uuid.uuid4().hex[:8]}"
    print(
        f"rampart bench.approvals: {settings.approvals:,} pending approvals coming due at "
        f"{settings.due_rate:g}/s, measured over {settings.window:g} s; "
        f"{settings.repeat} passes; logs in {logs}",
        flush=True,
    )
    counts = [int(n) for n in settings.replicas.split(",")]
    p99s: dict[int, list[float]] = {n: [] for n in counts}
    async with _database(settings.database_url) as database_url:
        env = {k: v for k, v in os.environ.items() if not k.startswith("RAMPART_")}
        env.update(
            {
                "RAMPART_MODE": "distributed",
                "RAMPART_DATABASE_URL": database_url,
                "RAMPART_AMQP_URL": settings.amqp_url,
                "RAMPART_MASTER_KEY": Keyring.generate_key_text(),
                "RAMPART_BUS_NAMESPACE": namespace,
                "RAMPART_LOG_LEVEL": "WARNING",
            }
        )
        for _ in range(settings.repeat):
            for replicas in counts:
                p99, p50, count = await _escalation_pass(
                    settings, env, database_url, replicas, logs
                )
                p99s[replicas].append(p99)
                print(
                    f"  {replicas} replica(s): {count:,} escalations, delay p50 {p50:.3f} s, "
                    f"p99 {p99:.3f} s",
                    flush=True,
                )
        decision_rates, raw_rates = [], []
        for _ in range(settings.repeat):
            decisions, raw = await _decision_pass(settings, env, database_url, logs)
            decision_rates.append(decisions)
            raw_rates.append(raw)
        notification_rates, smtp_rates = [], []
        # spawned, not forked: this process runs threads (the SMTP server's among them)
        spawn = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as raw_sender:
            for _ in range(settings.repeat):
                rate, raw_smtp = await _notification_pass(
                    settings, env, database_url, logs, raw_sender
                )
                notification_rates.append(rate)
                smtp_rates.append(raw_smtp)
                print(
                    f"  notifications: {rate:.1f}/s; raw SMTP sends: {raw_smtp:.1f}/s "
                    f"(ratio {rate / raw_smtp:.3f})",
                    flush=True,
                )
    labels = {1: "one-replica", 2: "two-replicas"}
    for replicas in counts:
        print(f"escalation delay p99, {replicas} replica(s) (s): {_spread(p99s[replicas])}")
    print(f"decisions/s: {_spread(decision_rates)}; raw /healthz req/s: {_spread(raw_rates)}")
    ratios = [d / r for d, r in zip(decision_rates, raw_rates, strict=True)]
    print(f"decisions ÷ raw requests: {_spread(ratios)}")
    print(
        f"notifications/s to a local SMTP server ({settings.notifications:,} per pass): "
        f"{_spread(notification_rates)}; raw SMTP sends/s: {_spread(smtp_rates)}"
    )
    mail_ratios = [n / r for n, r in zip(notification_rates, smtp_rates, strict=True)]
    print(f"notifications ÷ raw SMTP sends: {_spread(mail_ratios)}")
    for replicas in counts:
        label = labels.get(replicas, f"{replicas}-replicas")
        value = statistics.median(p99s[replicas])
        verdict = "met" if value < 1.0 else "not met"
        print(f"TARGET approvals escalation-p99-{label}: {value:.3f} s (goal < 1 s) {verdict}")


if __name__ == "__main__":
    raise SystemExit(exit_code_of(main()))
