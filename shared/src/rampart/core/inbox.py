"""The inbox: at-least-once delivery made idempotent inside the consumer's transaction."""

from __future__ import annotations

from datetime import timedelta

from rampart.core.store import Connection, affected_rows


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
