"""Forgetting webhook ids once their timestamps can no longer pass the replay window."""

from __future__ import annotations

import contextlib
from datetime import timedelta

from rampart.core.deps import Conn
from rampart.core.store import affected_rows
from rampart.core.workers import periodic
from rampart.ingest import SCHEMA
from rampart.ingest.state import IngestState

PRUNE_INTERVAL_S = 60.0


async def prune_webhook_ids(*, conn: Conn, older_than: timedelta) -> int:
    """Delete webhook ids received more than ``older_than`` ago; returns how many."""
    status = await conn.execute(
        f"DELETE FROM {SCHEMA}.webhook_ids WHERE received_at < now() - $1::interval", older_than
    )
    return affected_rows(status)


def pruning(ingest: IngestState) -> contextlib.AbstractAsyncContextManager[None]:
    """A worker: prune webhook ids every minute while the service runs."""
    # a signature older than the window is refused anyway, so twice the window is safe
    keep = timedelta(seconds=2 * ingest.settings.replay_window_s)

    async def prune() -> None:
        async with ingest.pool.acquire() as conn:
            await prune_webhook_ids(conn=conn, older_than=keep)

    return periodic(prune, interval_s=PRUNE_INTERVAL_S, name="ingest-pruning")
