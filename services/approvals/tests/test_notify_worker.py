"""The delivery worker on the database alone: warnings, stale notifications, refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from rampart.approvals import notify, service
from rampart.approvals.models import DecisionCreate
from rampart.approvals.notify import store
from rampart.approvals.notify.channels import SendFailed
from rampart.approvals.notify.contacts import Channel, Contact
from rampart.approvals.notify.links import LinkSigner
from rampart.approvals.notify.notifier import Notifier
from rampart.approvals.notify.render import Notice
from rampart.approvals.notify.settings import NotifySettings
from rampart.approvals.notify.worker import deliver_due
from rampart.approvals.spec import build_spec
from rampart.core.auth import Principal, Role
from rampart.core.runtime import prepare_database
from rampart.core.store import Pool
from services.approvals.tests._harness import approval_request


class _Recorder:
    """Senders that remember what they sent, and refuse the channels told to."""

    def __init__(self, refuse: dict[Channel, SendFailed] | None = None) -> None:
        self.sent: list[tuple[Channel, Notice]] = []
        self.tried: list[Channel] = []
        self.refuse = refuse or {}

    async def send(self, channel: Channel, address: str, notice: Notice) -> None:
        self.tried.append(channel)
        if channel in self.refuse:
            raise self.refuse[channel]
        self.sent.append((channel, notice))


class _Book:
    async def contact(self, owner_id: UUID) -> Contact:
        return Contact(
            name="alice", email="alice@soc.example", slack="http://127.0.0.1:9/slack/alice"
        )


class _People:
    async def people(self, owner_id: UUID) -> list[UUID]:
        return [owner_id]

    async def named(self, name: str) -> UUID | None:
        return None


def _notifier(senders: _Recorder) -> Notifier:
    return Notifier(
        settings=NotifySettings(batch=100),
        signer=LinkSigner(b"k" * 32),
        contacts=_Book(),
        senders=senders,  # type: ignore[arg-type]
        public_url="https://rampart.example",
    )


@pytest.fixture
async def migrated(pool: Pool) -> Pool:
    await prepare_database(pool, [build_spec()])
    return pool


async def _open(pool: Pool, now: datetime, owner: UUID) -> UUID:
    async with pool.acquire() as conn, conn.transaction():
        request = approval_request(("primary", [owner], 30))
        return await service.create(conn=conn, request=request, owners=_People(), now=now)


async def _deliver(pool: Pool, senders: _Recorder, now: datetime) -> None:
    async with pool.acquire() as conn:
        while await deliver_due(conn=conn, notifier=_notifier(senders), now=now) > 0:
            pass


def _of(senders: _Recorder, approval_id: UUID) -> list[tuple[Channel, Notice]]:
    return [(c, n) for c, n in senders.sent if n.approval_id == approval_id]


async def test_an_sla_warning_reminds_the_assignee_with_a_link(migrated: Pool) -> None:
    # far ahead of every other test's rows, so only this test's are due
    now = datetime.now(UTC) + timedelta(days=20000)
    owner = uuid4()
    approval_id = await _open(migrated, now, owner)
    await _deliver(migrated, _Recorder(), now)
    later = now + timedelta(minutes=25)
    async with migrated.acquire() as conn, conn.transaction():
        written = await notify.announce(
            conn=conn, approval_id=approval_id, reason="warning", now=later
        )
        again = await notify.announce(
            conn=conn, approval_id=approval_id, reason="warning", now=later
        )
    # each call names the one assignee told; the second writes no second notification
    assert written == again == [owner]
    senders = _Recorder()
    await _deliver(migrated, senders, later)
    sent = _of(senders, approval_id)
    # announcing one occasion twice writes it once
    assert len(sent) == 1
    channel, notice = sent[0]
    assert channel == "email"
    assert (
        notice.subject
        == "Reminder, 5 min left to approve: terminate process on web-01 (primary stage)"
    )
    assert notice.link is not None
    assert notice.link.startswith("https://rampart.example/api/v1/approve/")


async def test_a_notification_of_a_stage_already_decided_is_not_sent(migrated: Pool) -> None:
    now = datetime.now(UTC) + timedelta(days=20001)
    owner = uuid4()
    approval_id = await _open(migrated, now, owner)
    async with migrated.acquire() as conn:
        await service.decide(
            conn=conn,
            approval_id=approval_id,
            who=Principal(token_id=uuid4(), name="alice", role=Role.APPROVER, subject=str(owner)),
            decision=DecisionCreate(decision="approve"),
            now=now,
        )
    senders = _Recorder()
    await _deliver(migrated, senders, now)
    assert _of(senders, approval_id) == []
    rows = await migrated.fetch(
        f"SELECT status FROM {store.SCHEMA}.approval_notifications WHERE approval_id = $1",
        approval_id,
    )
    assert [r["status"] for r in rows] == ["obsolete"]


async def test_a_channel_that_refuses_for_good_falls_back_without_retrying(
    migrated: Pool,
) -> None:
    now = datetime.now(UTC) + timedelta(days=20002)
    approval_id = await _open(migrated, now, uuid4())
    senders = _Recorder({"email": SendFailed("550 no such mailbox", permanent=True)})
    await _deliver(migrated, senders, now)
    assert [c for c, _ in _of(senders, approval_id)] == ["slack"]
    rows = await migrated.fetch(
        f"SELECT status, channel, last_error FROM {store.SCHEMA}.approval_notifications "
        "WHERE approval_id = $1",
        approval_id,
    )
    assert [(r["status"], r["channel"]) for r in rows] == [("delivered", "slack")]


async def test_a_breach_notice_carries_no_link(migrated: Pool) -> None:
    now = datetime.now(UTC) + timedelta(days=20003)
    approval_id = await _open(migrated, now, uuid4())
    await _deliver(migrated, _Recorder(), now)
    due = now + timedelta(minutes=30)
    async with migrated.acquire() as conn, conn.transaction():
        await service.breached(conn=conn, approval_id=approval_id, at=due)
    senders = _Recorder()
    await _deliver(migrated, senders, due)
    sent = _of(senders, approval_id)
    assert len(sent) == 1
    notice = sent[0][1]
    assert (notice.reason, notice.link, notice.outcome) == ("breach", None, "expired")
    assert notice.subject == "Approval time passed: terminate process on web-01 (expired)"
