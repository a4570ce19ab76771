"""The PostgreSQL bus: queues are tables in the database the services already use.

Embedded mode's bus. A publish inserts one row per bound queue (in the outbox relay's own
transaction, so a message leaves the outbox exactly when it enters its queues); a consumer
claims rows with ``FOR UPDATE SKIP LOCKED`` by moving them past a lease it renews while the
handler runs, and deletes a row once its handler returned. Retries are a later
``visible_at``, dead letters are rows of their own, ``LISTEN``/``NOTIFY`` wakes consumers
and a poll covers a lost notification. Nothing is held in memory that a crash could lose:
a claim whose consumer died comes back when its lease runs out, and the inbox absorbs the
repeat. No transaction stays open while a handler runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import asyncpg

from rampart.core.bus._base import (
    Bus,
    DeadLetter,
    Handler,
    Outgoing,
    PublishError,
    Topology,
    dispatch,
    topic_matches,
    topic_regex,
)
from rampart.core.errors import TransientError
from rampart.core.store import (
    Connection,
    Pool,
    Record,
    apply_migrations,
    connect_pool,
    load_migrations,
)

log = logging.getLogger(__name__)

_DEFAULT_TOPOLOGY = Topology()
_UNSAFE = re.compile(r"[^a-z0-9_]")


def bus_schema(topology: Topology) -> str:
    """The schema holding a namespace's queues: ``bus``, or ``bus_<namespace>``."""
    if topology.namespace == "rampart":
        return "bus"
    return "bus_" + _UNSAFE.sub("_", topology.namespace)


@dataclass(slots=True)
class _Subscription:
    queue: str
    handler: Handler
    prefetch: int
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    # claimed row id -> the task running its handler
    inflight: dict[int, asyncio.Task[None]] = field(default_factory=dict)
    loop: asyncio.Task[None] | None = None


class PostgresBus(Bus):
    """A ``Bus`` whose queues, retries and dead letters are rows in PostgreSQL."""

    def __init__(
        self,
        dsn: str,
        *,
        topology: Topology = _DEFAULT_TOPOLOGY,
        delivery_limit: int = 5,
        retry_delay_ms: int = 200,
        prefetch: int = 32,
        lease_s: float = 15.0,
        poll_interval_s: float = 2.0,
        pool_size: int = 4,
        shutdown_grace_s: float = 30.0,
    ) -> None:
        self.topology = topology
        self.schema = bus_schema(topology)
        self._dsn = dsn
        self._delivery_limit = delivery_limit
        self._retry_delay_ms = retry_delay_ms
        self._prefetch = prefetch
        self._lease_s = lease_s
        self._poll_interval_s = poll_interval_s
        self._pool_size = pool_size
        self._shutdown_grace_s = shutdown_grace_s
        self._channel = f"rampart_{self.schema}"
        self._pool: Pool | None = None
        # LISTEN holds its connection for the bus's life: its own, never one of the pool's
        self._listener: asyncpg.Connection[Record] | None = None
        self._subscriptions: dict[str, list[_Subscription]] = {}
        # patterns this process declared: a message they route must reach a queue
        self._declared: set[str] = set()
        self._renewer: asyncio.Task[None] | None = None
        self._stopping = False

    async def start(self) -> None:
        """Open the bus's pool and its LISTEN connection; create the queue tables once."""
        if self._pool is not None:
            return
        self._stopping = False
        pool = await connect_pool(self._dsn, min_size=1, max_size=self._pool_size)
        try:
            await apply_migrations(
                pool,
                schema=self.schema,
                migrations=load_migrations("rampart.core.bus"),
                component="bus",
            )
            await self._listen()
        except BaseException:
            await pool.close()
            raise
        self._pool = pool
        self._renewer = asyncio.create_task(self._renew_leases(), name=f"bus:{self.schema}:lease")

    async def _listen(self) -> None:
        listener: asyncpg.Connection[Record] = await asyncpg.connect(self._dsn)
        await listener.add_listener(self._channel, self._on_notify)
        self._listener = listener

    async def stop_consuming(self) -> None:
        """Stop claiming; let running handlers finish (up to the grace period), release the rest."""
        self._stopping = True
        subs = [s for group in self._subscriptions.values() for s in group]
        for sub in subs:
            if sub.loop is not None:
                sub.loop.cancel()
        await asyncio.gather(*(s.loop for s in subs if s.loop), return_exceptions=True)
        running = {task: (sub, rid) for sub in subs for rid, task in sub.inflight.items()}
        if running:
            _, late = await asyncio.wait(running, timeout=self._shutdown_grace_s)
            for task in late:
                log.warning(
                    "cancelling a handler still running at close",
                    extra={"queue": running[task][0].queue},
                )
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
            # unsettled: visible again at once rather than when the lease runs out
            await self._release([running[t][1] for t in late])
        self._subscriptions.clear()

    async def close(self) -> None:
        """Stop consuming (handlers finish), then close the connections."""
        await self.stop_consuming()
        if self._renewer is not None:
            self._renewer.cancel()
            await asyncio.gather(self._renewer, return_exceptions=True)
            self._renewer = None
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.close()
            self._listener = None
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def is_ready(self) -> bool:
        """Whether the bus is started and its database answers."""
        if self._pool is None:
            return False
        try:
            async with self._pool.acquire(timeout=2) as conn:
                return bool(await conn.fetchval("SELECT true", timeout=2))
        except Exception:
            return False

    async def declare(self, queue: str, patterns: Sequence[str]) -> None:
        """Bind ``queue`` to ``patterns`` in the bindings table; its rows wait for a consumer."""
        pool = self._require()
        await pool.executemany(
            f"INSERT INTO {self.schema}.bindings (queue, pattern, regex) VALUES ($1, $2, $3) "
            "ON CONFLICT DO NOTHING",
            [(queue, p, topic_regex(p)) for p in patterns],
        )
        self._declared.update(patterns)

    async def publish_encoded(self, messages: Sequence[Outgoing]) -> None:
        """Insert each message into every queue bound to its routing key, in one transaction."""
        pool = self._require()
        async with pool.acquire() as conn, conn.transaction():
            await self.publish_in(conn, messages)

    async def publish_in(self, conn: Connection, messages: Sequence[Outgoing]) -> None:
        """Fan ``messages`` out to their queues inside ``conn``'s transaction.

        A message whose routing key a declared queue is bound to but which reaches no queue
        (its bindings are gone) fails, and the caller keeps it; one that no declared binding
        takes (an announcement nobody subscribed to) is dropped, as a topic exchange does.
        """
        self._require()
        if not messages:
            return
        row = await conn.fetchrow(
            f"""WITH m AS (
                SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bytea[])
                    WITH ORDINALITY AS m(message_id, type, routing_key, body, n)
            ), routed AS (
                SELECT DISTINCT ON (m.n, b.queue) m.n, b.queue, m.message_id, m.type,
                    m.routing_key, m.body
                FROM m JOIN {self.schema}.bindings b ON m.routing_key ~ b.regex
            ), inserted AS (
                INSERT INTO {self.schema}.messages (queue, message_id, type, routing_key, body)
                SELECT queue, message_id, type, routing_key, body FROM routed
                RETURNING queue
            ), woken AS (
                SELECT pg_notify($5, queue) FROM (SELECT DISTINCT queue FROM inserted) q
            )
            SELECT (SELECT count(*) FROM woken) AS woken,
                (SELECT coalesce(array_agg(DISTINCT n), '{{}}') FROM routed) AS routed""",
            [m.message_id for m in messages],
            [m.type for m in messages],
            [m.routing_key for m in messages],
            [m.body for m in messages],
            self._channel,
        )
        assert row is not None
        reached = {int(n) - 1 for n in row["routed"]}
        lost = {
            i: f"no queue is bound to {m.routing_key}"
            for i, m in enumerate(messages)
            if i not in reached and self._expects_route(m.routing_key)
        }
        if lost:
            raise PublishError(lost, len(messages))

    def _expects_route(self, routing_key: str) -> bool:
        return any(topic_matches(p, routing_key) for p in self._declared)

    async def publish_raw(
        self, routing_key: str, body: bytes, *, message_id: str = "", type: str | None = None
    ) -> None:
        """Route a body without validating it; for tests and tools that need bad messages."""
        await self.publish_encoded([Outgoing(message_id, type or "", routing_key, body)])

    async def subscribe(
        self,
        queue: str,
        patterns: Sequence[str],
        handler: Handler,
        *,
        prefetch: int | None = None,
    ) -> None:
        """Declare ``queue`` and start a consumer claiming up to ``prefetch`` rows at a time."""
        await self.declare(queue, patterns)
        sub = _Subscription(queue, handler, prefetch or self._prefetch)
        self._subscriptions.setdefault(queue, []).append(sub)
        sub.loop = asyncio.create_task(self._consume(sub), name=f"bus:{queue}")

    async def dead_letters(self, queue: str, *, limit: int = 100) -> list[DeadLetter]:
        """The first ``limit`` dead letters of ``queue``, left in place."""
        rows = await self._require().fetch(
            f"SELECT message_id, type, reason, body, dead_at FROM {self.schema}.dead "
            "WHERE queue = $1 ORDER BY id LIMIT $2",
            queue,
            limit,
        )
        return [
            DeadLetter(queue, r["message_id"], r["type"], r["reason"], r["body"], r["dead_at"])
            for r in rows
        ]

    async def replay_dead_letters(self, queue: str, *, limit: int = 100) -> int:
        """Move up to ``limit`` dead letters back to ``queue`` as fresh deliveries."""
        async with self._require().acquire() as conn, conn.transaction():
            count = await conn.fetchval(
                f"""WITH d AS (
                    DELETE FROM {self.schema}.dead WHERE id IN (
                        SELECT id FROM {self.schema}.dead WHERE queue = $1 ORDER BY id
                        LIMIT $2 FOR UPDATE SKIP LOCKED)
                    RETURNING queue, message_id, type, routing_key, body
                ), moved AS (
                    INSERT INTO {self.schema}.messages (queue, message_id, type, routing_key, body)
                    SELECT queue, message_id, type, routing_key, body FROM d RETURNING 1
                )
                SELECT count(*) FROM moved""",
                queue,
                limit,
            )
            await conn.execute("SELECT pg_notify($1, $2)", self._channel, queue)
        log.info("replayed %d dead letters", count, extra={"queue": queue})
        return int(count)

    def _require(self) -> Pool:
        if self._pool is None:
            raise TransientError("the bus is not started")
        return self._pool

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: object) -> None:
        for sub in self._subscriptions.get(str(payload), ()):
            sub.wake.set()

    async def _consume(self, sub: _Subscription) -> None:
        while not self._stopping:
            sub.wake.clear()
            free = sub.prefetch - len(sub.inflight)
            claimed: list[Record] = []
            if free > 0:
                try:
                    claimed = await self._claim(sub.queue, free)
                except Exception:
                    log.exception("could not claim messages; retrying", extra={"queue": sub.queue})
            for row in claimed:
                task = asyncio.create_task(self._deliver(sub, row), name=f"bus:{sub.queue}")
                sub.inflight[row["id"]] = task
            if claimed and len(claimed) == free:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(sub.wake.wait(), self._poll_interval_s)

    async def _claim(self, queue: str, limit: int) -> list[Record]:
        return await self._require().fetch(
            f"""UPDATE {self.schema}.messages SET deliveries = deliveries + 1,
                visible_at = now() + make_interval(secs => $3)
            WHERE id IN (
                SELECT id FROM {self.schema}.messages WHERE queue = $1 AND visible_at <= now()
                ORDER BY visible_at, id LIMIT $2 FOR UPDATE SKIP LOCKED)
            RETURNING id, message_id, type, body, deliveries""",
            queue,
            limit,
            self._lease_s,
        )

    async def _deliver(self, sub: _Subscription, row: Record) -> None:
        rid, attempt = int(row["id"]), int(row["deliveries"])
        extra = {"message_id": row["message_id"], "queue": sub.queue}
        try:
            if attempt > self._delivery_limit + 2:
                # a safety net, like the broker's: it keeps crashing its consumer before settling
                reason = f"claimed {attempt - 1} times without being settled"
                await self._bury(rid, reason)
                return
            outcome = await dispatch(
                row["body"],
                queue=sub.queue,
                attempt=attempt,
                handler=sub.handler,
                delivery_limit=self._delivery_limit,
                retry_delay_ms=self._retry_delay_ms,
                message_id=row["message_id"],
            )
            if outcome.action == "ack":
                await self._require().execute(
                    f"DELETE FROM {self.schema}.messages WHERE id = $1", rid
                )
            elif outcome.action == "retry":
                await self._require().execute(
                    f"UPDATE {self.schema}.messages "
                    "SET visible_at = now() + make_interval(secs => $2) WHERE id = $1",
                    rid,
                    outcome.delay_s,
                )
                asyncio.get_running_loop().call_later(outcome.delay_s, sub.wake.set)
            else:
                await self._bury(rid, outcome.reason)
                log.info("dead-lettered after attempt %d: %s", attempt, outcome.reason, extra=extra)
        except Exception:
            # the row stays claimed until its lease runs out, then comes back
            log.exception("could not settle a delivery", extra=extra)
        finally:
            sub.inflight.pop(rid, None)
            sub.wake.set()

    async def _bury(self, rid: int, reason: str) -> None:
        await self._require().execute(
            f"""WITH d AS (DELETE FROM {self.schema}.messages WHERE id = $1
                RETURNING queue, message_id, type, routing_key, body, deliveries)
            INSERT INTO {self.schema}.dead
                (queue, message_id, type, routing_key, body, deliveries, reason)
            SELECT queue, message_id, type, routing_key, body, deliveries, $2 FROM d""",
            rid,
            reason[:2000],
        )

    async def _release(self, ids: list[int]) -> None:
        if not ids or self._pool is None:
            return
        with contextlib.suppress(Exception):
            await self._pool.execute(
                f"UPDATE {self.schema}.messages SET visible_at = now() WHERE id = ANY($1)", ids
            )

    async def _renew_leases(self) -> None:
        """Keep the claims of running handlers, and the LISTEN connection, alive."""
        while True:
            await asyncio.sleep(self._lease_s / 3)
            ids: list[int] = [
                rid
                for group in self._subscriptions.values()
                for sub in group
                for rid in sub.inflight
            ]
            try:
                if ids:
                    await self._require().execute(
                        f"UPDATE {self.schema}.messages "
                        "SET visible_at = now() + make_interval(secs => $2) "
                        "WHERE id = ANY($1) AND visible_at > now()",
                        ids,
                        self._lease_s,
                    )
                if self._listener is None or self._listener.is_closed():
                    await self._listen()
            except Exception:
                log.warning("could not renew leases; retrying", exc_info=True)
