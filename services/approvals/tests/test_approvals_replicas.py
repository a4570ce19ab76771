"""Approvals under faults, as they run in production: `rampart serve approvals` replicas and
the asset registry as separate processes on RabbitMQ and PostgreSQL, mail to a real SMTP
server (aiosmtpd).

Two replicas share pending approvals whose stages come due one after another: each
escalation happens once and each notification is sent once. Then one replica is SIGKILLed
while stages come due and started again: every stage escalates once, none before its due
time, none is lost, and every notification still goes out.
"""

from __future__ import annotations

import asyncio
import json
import signal
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from rampart.core.bus import Delivery, Topology
from rampart.core.bus.rabbitmq import RabbitBus
from rampart.core.crypto import Keyring
from rampart.core.messages import ApprovalEscalated, ApprovalNotified
from services.approvals.tests._notify_fakes import Mailbox, smtp
from tests._bus import delete_namespace
from tests._processes import RampartProcess, cli_token, free_port, process_env, wait_ready

__all__ = ["smtp"]

pytestmark = [pytest.mark.slow, pytest.mark.rabbitmq, pytest.mark.timeout(300)]

CAPTURE = "test.approvals"


class Cluster:
    """The registry, two approvals replicas, the bus the test listens on, what it heard."""

    def __init__(self, env: dict[str, str], tmp: Path, db: str, bus: RabbitBus) -> None:
        self.env, self.tmp, self.db, self.bus = env, tmp, db, bus
        self.replicas: list[RampartProcess] = []
        self.owners: tuple[uuid.UUID, uuid.UUID] = (uuid.uuid4(), uuid.uuid4())
        self.escalated: dict[uuid.UUID, set[str]] = {}
        self.escalated_at: dict[uuid.UUID, datetime] = {}
        self.notified: dict[tuple[uuid.UUID, str, str], set[str]] = {}

    async def hear(self, delivery: Delivery) -> None:
        message = delivery.message
        if isinstance(message, ApprovalEscalated):
            self.escalated.setdefault(message.approval_id, set()).add(delivery.envelope.id)
            self.escalated_at[message.approval_id] = delivery.envelope.time
        elif isinstance(message, ApprovalNotified) and message.delivered:
            key = (message.approval_id, message.recipient, message.detail)
            self.notified.setdefault(key, set()).add(delivery.envelope.id)

    def replica(self, i: int, suffix: str = "") -> RampartProcess:
        port = self.replicas[i].port if i < len(self.replicas) else free_port()
        return RampartProcess(
            ["serve", "approvals", "--port", str(port)],
            self.env,
            self.tmp / f"approvals-{i}{suffix}.log",
            port,
        )

    async def seed(
        self, count: int, first_due: datetime, spacing: timedelta
    ) -> dict[uuid.UUID, datetime]:
        """``count`` pending approvals whose primary stages come due ``spacing`` apart, as
        the service opens them (approval, assignees per stage, the stage's clock)."""
        stages = [
            {"stage": "primary", "assignees": [str(self.owners[0])], "sla_minutes": 1},
            {"stage": "secondary", "assignees": [str(self.owners[1])], "sla_minutes": 60},
        ]
        due = {uuid.uuid4(): first_due + spacing * i for i in range(count)}
        conn = await asyncpg.connect(self.db)
        try:
            async with conn.transaction():
                for i, (approval_id, at) in enumerate(due.items()):
                    created = at - timedelta(minutes=1)
                    await conn.execute(
                        "INSERT INTO approvals.approvals (id, action_run_id, request_key, action, "
                        "asset, connector, params, fingerprint, requested_by, required_approvals, "
                        "stages, stage, due_at, created_at) VALUES ($1, $2, $3, "
                        "'terminate process', 'web-01', 'ssh', $4::jsonb, $5, 'playbook:test', 1, "
                        "$6::jsonb, 'primary', $7, $8)",
                        approval_id, uuid.uuid4(), f"run-{i}", f'{{"pid": {i}}}', "f" * 64,
                        json.dumps(stages), at, created,
                    )  # fmt: skip
                    await conn.executemany(
                        "INSERT INTO approvals.approval_assignees (approval_id, stage_index, "
                        "owner_id) VALUES ($1, $2, $3)",
                        [(approval_id, 0, self.owners[0]), (approval_id, 1, self.owners[1])],
                    )
                    await conn.execute(
                        "INSERT INTO approvals.sla_timers (id, subject_kind, subject_id, "
                        "started_at, budget, due_at, warn_at) "
                        "VALUES ($1, 'approval', $2, $3, interval '1 minute', $4, $4)",
                        uuid.uuid4(), approval_id, created, at,
                    )  # fmt: skip
        finally:
            await conn.close()
        return due

    async def fetch(self, sql: str, *args: Any) -> list[Any]:
        conn = await asyncpg.connect(self.db)
        try:
            return list(await conn.fetch(sql, *args))
        finally:
            await conn.close()


@pytest.fixture
async def cluster(
    smtp: Mailbox, fresh_database: str, amqp_url: str, namespace: str, tmp_path: Path
) -> AsyncIterator[Cluster]:
    env = process_env(
        {
            "RAMPART_MODE": "distributed",
            "RAMPART_DATABASE_URL": fresh_database,
            "RAMPART_AMQP_URL": amqp_url,
            "RAMPART_MASTER_KEY": Keyring.generate_key_text(),
            "RAMPART_BUS_NAMESPACE": namespace,
            "RAMPART_BUS_RETRY_DELAY_MS": "50",
            "RAMPART_APPROVALS_SMTP_HOST": "127.0.0.1",
            "RAMPART_APPROVALS_SMTP_PORT": str(smtp.port),
            "RAMPART_APPROVALS_INTERVAL_S": "0.1",
        }
    )
    port = free_port()
    registry = RampartProcess(
        ["serve", "asset-registry", "--port", str(port)], env, tmp_path / "registry.log", port
    )
    bus = RabbitBus(amqp_url, topology=Topology(namespace))
    cluster = Cluster(env, tmp_path, fresh_database, bus)
    try:
        registry.start()
        await wait_ready(registry.url, proc=registry)
        admin = cli_token(env, name="test-admin")
        env["RAMPART_SERVICE_TOKEN"] = cli_token(env, role="service", name="services")
        env["RAMPART_ASSETS_URL"] = registry.url
        async with httpx.AsyncClient(
            base_url=registry.url, headers={"Authorization": f"Bearer {admin}"}, timeout=10
        ) as client:
            ids = []
            for name in ("alice", "bob"):
                made = await client.post(
                    "/api/v1/owners",
                    json={"name": name, "kind": "person", "email": f"{name}@soc.example"},
                )
                assert made.status_code == 201, made.text
                ids.append(uuid.UUID(made.json()["id"]))
        cluster.owners = (ids[0], ids[1])
        await bus.start()
        await bus.subscribe(CAPTURE, ["approval.escalated", "approval.notified"], cluster.hear)
        for i in range(2):
            cluster.replicas.append(cluster.replica(i))
            cluster.replicas[i].start()
        await asyncio.gather(*(wait_ready(p.url, proc=p) for p in cluster.replicas))
        yield cluster
    finally:
        for proc in [*cluster.replicas, registry]:
            proc.stop()
        await bus.close()
        await delete_namespace(
            amqp_url, namespace, ["approvals.sla", "approvals.requests", CAPTURE]
        )


async def _until(check: Any, what: str, within: float = 60) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, what
        await asyncio.sleep(0.1)


async def _escalations(cluster: Cluster, ids: list[uuid.UUID]) -> list[Any]:
    return await cluster.fetch(
        "SELECT approval_id, at FROM approvals.approval_history WHERE kind = 'escalated' "
        "AND approval_id = ANY($1::uuid[])",
        ids,
    )


async def _notifications(cluster: Cluster, ids: list[uuid.UUID]) -> list[Any]:
    return await cluster.fetch(
        "SELECT id, approval_id, owner_id, reason, status FROM approvals.approval_notifications "
        "WHERE approval_id = ANY($1::uuid[])",
        ids,
    )


async def _all_escalated_and_told(cluster: Cluster, due: dict[uuid.UUID, datetime]) -> None:
    ids = list(due)

    async def done() -> bool:
        told = await _notifications(cluster, ids)
        return (
            len(await _escalations(cluster, ids)) >= len(ids)
            and len(told) == 2 * len(ids)
            and all(n["status"] == "delivered" for n in told)
        )

    await _until(done, "not every stage escalated and every notification delivered")


def _check_escalated_once_never_early(
    cluster: Cluster, due: dict[uuid.UUID, datetime], rows: list[Any]
) -> None:
    assert sorted(r["approval_id"] for r in rows) == sorted(due), "an escalation twice or lost"
    early = [r["approval_id"] for r in rows if r["at"] < due[r["approval_id"]]]
    assert early == [], "a stage escalated before its due time"
    announced_early = [a for a in due if cluster.escalated_at.get(a, due[a]) < due[a]]
    assert announced_early == []
    assert {a: len(cluster.escalated.get(a, ())) for a in due} == dict.fromkeys(due, 1)


async def test_two_replicas_escalate_and_notify_once_and_a_sigkill_loses_no_timer(
    cluster: Cluster, smtp: Mailbox
) -> None:
    # two replicas claim the same due stages: each escalation and each mail happens once
    start = datetime.now(UTC)
    due = await cluster.seed(20, start + timedelta(seconds=2), timedelta(milliseconds=100))
    await _all_escalated_and_told(cluster, due)
    _check_escalated_once_never_early(cluster, due, await _escalations(cluster, list(due)))
    rows = await _notifications(cluster, list(due))
    sent = [m.message["Message-ID"] for m in smtp.mails]
    assert sorted(sent) == sorted(f"<{n['id']}@rampart.approvals>" for n in rows)
    assert {(n["owner_id"], n["reason"]) for n in rows} == {
        (cluster.owners[0], "breach"),
        (cluster.owners[1], "stage"),
    }
    mine = {k: v for k, v in cluster.notified.items() if k[0] in due}
    assert len(mine) == 40
    assert {len(v) for v in mine.values()} == {1}

    # one replica dies while stages come due; started again, nothing is lost or doubled
    start = datetime.now(UTC)
    due = await cluster.seed(40, start + timedelta(seconds=2), timedelta(milliseconds=150))
    ids = list(due)

    async def a_quarter() -> bool:
        return len(await _escalations(cluster, ids)) >= len(ids) // 4

    await _until(a_quarter, "no stage escalated")
    first = cluster.replicas[0]
    assert first.signal(signal.SIGKILL) == -signal.SIGKILL
    pending = len(ids) - len(await _escalations(cluster, ids))
    assert pending > 0, "every stage was due before the kill: nothing was left pending"
    cluster.replicas[0] = cluster.replica(0, "-restarted")
    cluster.replicas[0].start()
    await wait_ready(cluster.replicas[0].url, proc=cluster.replicas[0])
    await _all_escalated_and_told(cluster, due)
    _check_escalated_once_never_early(cluster, due, await _escalations(cluster, ids))
    second = cluster.replicas[1].process
    assert second is not None
    assert second.poll() is None, "the other replica kept running"
