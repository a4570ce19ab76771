"""The transactional outbox: write messages with state, publish them after commit.

``enqueue`` inserts envelopes in the caller's transaction and notifies the relay on commit.
``OutboxRelay`` claims committed rows with ``FOR UPDATE SKIP LOCKED``, publishes them with
confirms and deletes them in the same transaction, so a relay that dies mid-batch leaves its
rows for the next one: a message is published if and only if its transaction committed,
possibly more than once, which the consumers' inbox absorbs. A row the bus refuses on its own
data (``Unpublishable``: a routing key or a body over the broker's limits) moves to
``outbox_refused`` with the reason in that same transaction, and the rest of its batch is
published: one message that can never go out does not hold up the ones behind it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rampart.core.bus import Bus, Outgoing, Unpublishable
from rampart.core.envelope import Envelope
from rampart.core.messages import Message
from rampart.core.store import Connection, Notifications, Pool
from rampart.core.workers import cancel_requested

log = logging.getLogger(__name__)

NOTIFY_CHANNEL = "rampart_outbox"


async def enqueue(
    *, conn: Connection, schema: str, envelopes: Sequence[Envelope], topic: str | None = None
) -> None:
    """Add envelopes to ``schema``'s outbox inside the caller's transaction.

    ``topic`` routes them to ``<routing key>.<topic>`` (``action.dispatched.ssh``), so only
    queues bound to that topic (``Queue(..., topic="ssh")``) receive them.
    """
    if not envelopes:
        return
    suffix = "" if topic is None else f".{topic}"
    await conn.executemany(
        f"INSERT INTO {schema}.outbox (message_id, message_type, routing_key, body) "
        "VALUES ($1, $2, $3, $4)",
        [(e.id, e.type, e.routing_key + suffix, e.to_bytes()) for e in envelopes],
    )
    await conn.execute("SELECT pg_notify($1, $2)", NOTIFY_CHANNEL, schema)


async def pending(*, conn: Connection, schema: str) -> int:
    """How many messages wait in ``schema``'s outbox."""
    return int(await conn.fetchval(f"SELECT count(*) FROM {schema}.outbox"))


@dataclass(frozen=True, slots=True)
class Publisher:
    """One service's way to publish: typed messages into its outbox, in the caller's transaction.

    ``await publish(conn, EventClosed(...), subject=str(event_id), cause=delivery.envelope)``
    wraps each message in an envelope from this service's ``source``, carrying the
    correlation of ``cause`` (or ``correlation_id``), and writes it with the state change.
    """

    schema: str
    source: str

    async def __call__(
        self,
        conn: Connection,
        *messages: Message,
        subject: str | None = None,
        cause: Envelope | None = None,
        correlation_id: str | None = None,
        topic: str | None = None,
    ) -> list[Envelope]:
        """Write ``messages`` to the outbox; returns their envelopes.

        ``topic`` narrows the routing key to ``<key>.<topic>`` (see :func:`enqueue`).
        """
        envelopes = [
            Envelope.wrap(
                m, source=self.source, subject=subject, cause=cause, correlation_id=correlation_id
            )
            for m in messages
        ]
        await enqueue(conn=conn, schema=self.schema, envelopes=envelopes, topic=topic)
        return envelopes

    async def each(
        self, conn: Connection, items: Sequence[tuple[Message, str | None]]
    ) -> list[Envelope]:
        """Write messages that each have their own subject (a batch of events) in one insert."""
        envelopes = [Envelope.wrap(m, source=self.source, subject=s) for m, s in items]
        await enqueue(conn=conn, schema=self.schema, envelopes=envelopes)
        return envelopes


class OutboxRelay:
    """Publishes one schema's outbox to the bus, woken by LISTEN/NOTIFY, polling as a fallback."""

    def __init__(
        self,
        *,
        pool: Pool,
        notifications: Notifications,
        bus: Bus,
        schema: str,
        batch_size: int = 200,
        poll_interval_s: float = 1.0,
        on_published: Callable[[int], object] | None = None,
        on_refused: Callable[[int], object] | None = None,
    ) -> None:
        self._pool = pool
        self._notifications = notifications
        self._bus = bus
        self._schema = schema
        self._batch_size = batch_size
        self._poll_interval_s = poll_interval_s
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._on_published = on_published
        self._on_refused = on_refused
        self._stopping = False
        self._stop_grace_s = 10.0
        self.published = 0

    async def start(self) -> None:
        """Listen for notifications and start relaying in the background."""
        await self._notifications.listen(NOTIFY_CHANNEL, self._on_notify)
        self._task = asyncio.create_task(self._run(), name=f"outbox-relay-{self._schema}")

    async def stop(self) -> None:
        """Stop relaying; rows not yet published stay for the next relay."""
        if self._task is not None:
            # let a batch in flight finish rather than cancel it mid-query
            self._stopping = True
            self._wake.set()
            try:
                await asyncio.wait_for(asyncio.shield(self._task), self._stop_grace_s)
            except TimeoutError:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
            self._task = None
        await self._notifications.unlisten(NOTIFY_CHANNEL, self._on_notify)

    def _on_notify(self, payload: str | None) -> None:
        # None: the connection came back, and a notification may have been missed meanwhile
        if payload is None or payload == self._schema:
            self._wake.set()

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                sent = await self.relay_once()
            except Exception as exc:
                if cancel_requested():
                    # cancelled mid-publish and the rollback then failed too: the cancel stands
                    raise asyncio.CancelledError from exc
                log.exception("outbox relay failed; retrying", extra={"schema": self._schema})
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._poll_interval_s)
                continue
            if sent >= self._batch_size or self._stopping:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll_interval_s)

    async def relay_once(self) -> int:
        """Publish and delete one batch of committed rows; returns how many were published."""
        async with self._pool.acquire() as conn, conn.transaction():
            # A delete lost in a crash only means its rows are published again, which the
            # consumers' inboxes absorb, so this commit need not wait for the WAL flush.
            await conn.execute("SET LOCAL synchronous_commit TO off")
            # one round trip claims and deletes; a failed publish rolls the delete back
            rows = await conn.fetch(
                f"DELETE FROM {self._schema}.outbox WHERE seq IN ("
                f"SELECT seq FROM {self._schema}.outbox ORDER BY seq "
                "LIMIT $1 FOR UPDATE SKIP LOCKED) "
                "RETURNING seq, message_id, message_type, routing_key, body, created_at",
                self._batch_size,
            )
            if not rows:
                return 0
            rows.sort(key=lambda r: r["seq"])
            outgoing = [
                Outgoing(r["message_id"], r["message_type"], r["routing_key"], r["body"])
                for r in rows
            ]
            try:
                await self._bus.publish_encoded(outgoing)
            except Unpublishable as exc:
                await self._set_aside(conn, rows, exc.refused)
                outgoing = [o for i, o in enumerate(outgoing) if i not in exc.refused]
                if outgoing:
                    await self._bus.publish_encoded(outgoing)
        self.published += len(outgoing)
        if self._on_published is not None:
            self._on_published(len(outgoing))
        return len(rows)

    async def _set_aside(
        self, conn: Connection, rows: Sequence[Any], refused: dict[int, str]
    ) -> None:
        """Keep the refused rows, with why, in the transaction that deleted them."""
        await conn.executemany(
            f"INSERT INTO {self._schema}.outbox_refused "
            "(seq, message_id, message_type, routing_key, body, reason, created_at) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7)",
            [
                (
                    rows[i]["seq"],
                    rows[i]["message_id"],
                    rows[i]["message_type"],
                    rows[i]["routing_key"],
                    rows[i]["body"],
                    reason,
                    rows[i]["created_at"],
                )
                for i, reason in refused.items()
            ],
        )
        for i, reason in refused.items():
            log.error(
                "outbox message refused by the bus; set aside in outbox_refused",
                extra={
                    "schema": self._schema,
                    "message_id": rows[i]["message_id"],
                    "message_type": rows[i]["message_type"],
                    "reason": reason,
                },
            )
        if self._on_refused is not None:
            self._on_refused(len(refused))
