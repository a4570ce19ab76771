"""Notifications when things fail: an SMTP server that is down, two replicas delivering."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import httpx
import pytest

from rampart.approvals import service
from rampart.approvals.notify import store
from rampart.approvals.notify.contacts import Channel, Contact, HttpContactBook
from rampart.approvals.notify.links import LinkSigner
from rampart.approvals.notify.notifier import Notifier
from rampart.approvals.notify.render import Notice
from rampart.approvals.notify.settings import NotifySettings
from rampart.approvals.notify.worker import deliver_due
from rampart.approvals.spec import build_spec
from rampart.core.errors import PermanentError, TransientError, UnavailableError
from rampart.core.messages import ApprovalEscalated
from rampart.core.registry_client import RegistryClient
from rampart.core.runtime import prepare_database
from rampart.core.store import Pool, Record
from services.approvals.tests._harness import Rampart, approval_request, eventually
from services.approvals.tests._notify_fakes import (
    RETRY_BASE_S,
    Chat,
    Mailbox,
    chat,
    contact_owner,
    history,
    notify_env,
    opened,
    smtp,
    told,
)
from tests._processes import free_port

__all__ = ["chat", "notify_env", "smtp"]


@pytest.fixture
def smtp_down(notify_env: Mailbox, monkeypatch: pytest.MonkeyPatch) -> int:
    """Point the service at a port where no SMTP server listens."""
    port = free_port()
    monkeypatch.setenv("RAMPART_APPROVALS_SMTP_PORT", str(port))
    return port


class _Silent:
    """A TCP server that takes connections and never says a word: an SMTP server that hangs."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                self.held.append(self.sock.accept()[0])

    def close(self) -> None:
        # shutdown, not only close: it wakes the thread blocked in accept()
        for conn in [*self.held, self.sock]:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()


@pytest.fixture
def smtp_hangs(notify_env: Mailbox, monkeypatch: pytest.MonkeyPatch) -> Iterator[_Silent]:
    """Point the service at an SMTP server that never answers, with a long send timeout."""
    silent = _Silent()
    monkeypatch.setenv("RAMPART_APPROVALS_SMTP_PORT", str(silent.port))
    monkeypatch.setenv("RAMPART_APPROVALS_SEND_TIMEOUT_S", "60")
    try:
        yield silent
    finally:
        silent.close()


async def _notification(pool: Pool, approval_id: str, owner_id: UUID) -> Record | None:
    row: Record | None = await pool.fetchrow(
        f"SELECT status, channel, channel_index, attempts, last_error, next_attempt_at "
        f"FROM {store.SCHEMA}.approval_notifications WHERE approval_id = $1 AND owner_id = $2 "
        "AND reason = 'stage'",
        UUID(approval_id),
        owner_id,
    )
    return row


async def test_smtp_down_retries_with_backoff_falls_back_and_still_escalates_on_time(
    smtp_down: int, chat: Chat, rampart: Rampart
) -> None:
    alice_name, bob_name = f"alice-{uuid4().hex[:8]}", f"bob-{uuid4().hex[:8]}"
    alice = await contact_owner(
        rampart,
        alice_name,
        email=f"{alice_name}@soc.example",
        slack_webhook_url=chat.slack(alice_name),
    )
    bob = await contact_owner(rampart, bob_name, slack_webhook_url=chat.slack(bob_name))
    start = rampart.clock.now()
    request = approval_request(("primary", [alice.id], 30), ("secondary", [bob.id], 60))
    approval_id = await opened(rampart, request)

    async def attempts(n: int) -> Record | None:
        row = await _notification(rampart.services.pool, approval_id, alice.id)
        return row if row is not None and row["attempts"] == n else None

    first = await eventually(lambda: attempts(1))
    assert (first["status"], first["channel"], first["channel_index"]) == ("pending", "email", 0)
    assert "unreachable" in first["last_error"]
    assert first["next_attempt_at"] == start + timedelta(seconds=RETRY_BASE_S)
    assert chat.got("slack", alice_name) == []

    rampart.clock.advance(timedelta(seconds=RETRY_BASE_S))
    second = await eventually(lambda: attempts(2))
    # the wait doubles
    assert second["next_attempt_at"] == rampart.clock.now() + timedelta(seconds=2 * RETRY_BASE_S)
    assert second["channel_index"] == 0

    rampart.clock.advance(timedelta(seconds=2 * RETRY_BASE_S))
    posted = (await eventually(lambda: chat.got("slack", alice_name)))[0]
    assert posted.accepted, posted.problem
    outcomes = await eventually(
        lambda: len(told(rampart, approval_id)) == 2 and told(rampart, approval_id)
    )
    assert [(m.channel, m.delivered, m.recipient) for m in outcomes] == [
        ("email", False, str(alice.id)),
        ("slack", True, str(alice.id)),
    ]
    assert "unreachable" in outcomes[0].detail
    done = await _notification(rampart.services.pool, approval_id, alice.id)
    assert done is not None
    assert (done["status"], done["channel"]) == ("delivered", "slack")
    said = [
        (h["kind"], h["channel"], h["detail"].get("attempts"))
        for h in await history(rampart, approval_id)
        if h["kind"].startswith("notif")
    ]
    assert said == [("notification_failed", "email", 3), ("notified", "slack", 1)]

    # the mail server is still down; the stage's clock does not care
    elapsed = rampart.clock.now() - start
    due = rampart.clock.advance(timedelta(minutes=30) - elapsed)
    moved = await eventually(
        lambda: [
            m for m in rampart.messages(ApprovalEscalated) if str(m.approval_id) == approval_id
        ]
    )
    assert moved[0].due_at == due + timedelta(minutes=60)
    assert (await eventually(lambda: chat.got("slack", bob_name)))[0].accepted


async def test_an_smtp_server_that_hangs_does_not_hold_up_the_escalation(
    smtp_hangs: _Silent, chat: Chat, rampart: Rampart
) -> None:
    alice_name, bob_name = f"alice-{uuid4().hex[:8]}", f"bob-{uuid4().hex[:8]}"
    alice = await contact_owner(rampart, alice_name, email=f"{alice_name}@soc.example")
    bob = await contact_owner(rampart, bob_name, slack_webhook_url=chat.slack(bob_name))
    request = approval_request(("primary", [alice.id], 30), ("secondary", [bob.id], 60))
    approval_id = await opened(rampart, request)
    # the e-mail to alice is in flight, and will wait up to a minute for a greeting
    await eventually(lambda: smtp_hangs.held)
    due = rampart.clock.advance(timedelta(minutes=30))
    moved = await eventually(
        lambda: [
            m for m in rampart.messages(ApprovalEscalated) if str(m.approval_id) == approval_id
        ],
        timeout=20,
    )
    assert moved[0].due_at == due + timedelta(minutes=60)
    smtp_hangs.close()
    assert (await eventually(lambda: chat.got("slack", bob_name), timeout=30))[0].accepted


class _SlowRecorder:
    """Senders that take a moment and remember every notice they were given."""

    def __init__(self) -> None:
        self.sent: list[UUID] = []

    async def send(self, channel: Channel, address: str, notice: Notice) -> None:
        await asyncio.sleep(0.02)
        self.sent.append(notice.notification_id)


class _Book:
    async def contact(self, owner_id: UUID) -> Contact:
        return Contact(name=str(owner_id), email=f"{owner_id}@soc.example")


class _People:
    async def people(self, owner_id: UUID) -> list[UUID]:
        return [owner_id]

    async def named(self, name: str) -> UUID | None:
        return None


async def test_two_replicas_deliver_each_notification_once(pool: Pool) -> None:
    await prepare_database(pool, [build_spec()])
    now = datetime.now(UTC) + timedelta(days=3650)
    mine: set[UUID] = set()
    async with pool.acquire() as conn, conn.transaction():
        for _ in range(12):
            request = approval_request(("primary", [uuid4(), uuid4()], 30))
            approval_id = await service.create(
                conn=conn, request=request, owners=_People(), now=now
            )
            rows = await conn.fetch(
                f"SELECT id FROM {store.SCHEMA}.approval_notifications WHERE approval_id = $1",
                approval_id,
            )
            mine |= {r["id"] for r in rows}
    assert len(mine) == 24
    recorder = _SlowRecorder()
    notifier = Notifier(
        settings=NotifySettings(batch=4),
        signer=LinkSigner(b"k" * 32),
        contacts=_Book(),
        senders=recorder,  # type: ignore[arg-type]
        public_url="http://127.0.0.1",
    )
    claimed: list[int] = []

    async def replica() -> None:
        total = 0
        async with pool.acquire() as conn:
            while (n := await deliver_due(conn=conn, notifier=notifier, now=now)) > 0:
                total += n
        claimed.append(total)

    await asyncio.gather(replica(), replica())
    sent_mine = [i for i in recorder.sent if i in mine]
    assert sorted(sent_mine) == sorted(mine)
    assert len(recorder.sent) == len(set(recorder.sent))
    # both replicas took a share: neither waited for the other's locks
    assert all(c > 0 for c in claimed), claimed
    statuses = await pool.fetch(
        f"SELECT status FROM {store.SCHEMA}.approval_notifications WHERE id = ANY($1::uuid[])",
        list(mine),
    )
    assert {s["status"] for s in statuses} == {"delivered"}


@pytest.mark.parametrize(
    ("status", "raised"),
    [(503, UnavailableError), (429, UnavailableError), (404, PermanentError)],
)
async def test_an_owners_contact_is_read_through_the_shared_registry_client(
    status: int, raised: type[Exception]
) -> None:
    """The notifier reads contacts as every service reads the registry: a registry that
    cannot answer now is transient (the delivery is tried again), no such owner is final."""
    transport = httpx.MockTransport(lambda _request: httpx.Response(status, text="nope"))
    async with httpx.AsyncClient(base_url="http://registry", transport=transport) as http:
        with pytest.raises(raised):
            await HttpContactBook(RegistryClient(http)).contact(uuid4())
    assert issubclass(UnavailableError, TransientError)
