"""The inbox: at-least-once delivery made idempotent inside the consumer's transaction.

Handled message ids are remembered for ``RAMPART_INBOX_RETENTION_S`` (a week) and pruned on a
schedule by every process (``inbox_pruner``). The retention must outlast the longest window in
which a message can come again: every retry of the delivery limit at its backoff, plus the
outbox relay's republish after a lost confirm. A process refuses to start with less.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

from rampart.core.bus._base import retry_delay
from rampart.core.settings import Settings
from rampart.core.store import Connection, Pool, affected_rows
from rampart.core.workers import periodic

log = logging.getLogger(__name__)


async def first_delivery(*, conn: Connection, schema: str, consumer: str, message_id: str) -> bool:
    """Record that ``consumer`` handles ``message_id``; False if it already did.

    Call it inside the handler's transaction, before the work: a rollback forgets the
    record together with the work, and a duplicate delivery finds the record and skips.
    """
    inserted = await conn.fetchval(
        f"INSERT INTO {schema}.inbox (consumer, message_id) VALUES ($1, $2) "
        "ON CONFLICT DO NOTHING RETURNING true",
        consumer,
        message_id,
    )
    return bool(inserted)


async def prune(*, conn: Connection, schema: str, older_than: timedelta) -> int:
    """Forget handled message ids older than the longest redelivery window."""
    status = await conn.execute(
        f"DELETE FROM {schema}.inbox WHERE handled_at < now() - $1::interval", older_than
    )
    return affected_rows(status)


def redelivery_window_s(settings: Settings) -> float:
    """The longest time after its first delivery that a message can be delivered again."""
    retries = sum(
        retry_delay(attempt, base_ms=settings.bus_retry_delay_ms)
        for attempt in range(1, settings.bus_delivery_limit + 1)
    )
    # a relay that published but lost the confirm publishes again after its timeout
    return retries + 2 * settings.publish_timeout_s


def check_retention(settings: Settings) -> None:
    """Refuse an inbox retention that a redelivery could outlast (twice the window)."""
    window = redelivery_window_s(settings)
    if settings.inbox_retention_s < 2 * window:
        raise RuntimeError(
            f"RAMPART_INBOX_RETENTION_S={settings.inbox_retention_s:g} is shorter than twice "
            f"the longest redelivery window ({window:g} s): redelivered messages would run again"
        )


@contextlib.asynccontextmanager
async def inbox_pruner(pool: Pool, schema: str, settings: Settings) -> AsyncIterator[None]:
    """Prune ``schema``'s inbox every ``inbox_prune_interval_s`` while the context is open."""
    older_than = timedelta(seconds=settings.inbox_retention_s)

    async def once() -> None:
        async with pool.acquire() as conn:
            pruned = await prune(conn=conn, schema=schema, older_than=older_than)
        if pruned:
            log.info("inbox pruned", extra={"schema": schema, "rows": pruned})

    async with periodic(
        once, interval_s=settings.inbox_prune_interval_s, name=f"inbox-pruner-{schema}"
    ):
        yield
