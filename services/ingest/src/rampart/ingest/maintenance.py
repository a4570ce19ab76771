"""Forgetting webhook ids once their timestamps can no longer pass the replay window."""

from __future__ import annotations

import contextlib
import logging
from datetime import timedelta
from typing import Any

from rampart.core.runtime import Resources
from rampart.core.workers import periodic
from rampart.ingest.settings import IngestSettings

log = logging.getLogger(__name__)

SCHEMA = "ingest"


async def prune_webhook_ids(conn: Any, *, older_than: timedelta) -> int:
    """Delete webhook ids received more than ``older_than`` ago; returns how many."""
    status = await conn.execute(
        f"DELETE FROM {SCHEMA}.webhook_ids WHERE received_at < now() - $1::interval", older_than
    )
    return int(status.split()[-1])


def pruning(
    resources: Resources, *, interval_s: float = 60.0
) -> contextlib.AbstractAsyncContextManager[None]:
    """A worker: prune webhook ids every ``interval_s`` while the service runs."""
    # a signature older than the window is refused anyway, so twice the window is safe
    keep = timedelta(seconds=2 * IngestSettings().replay_window_s)

    async def prune() -> None:
        async with resources.pool.acquire() as conn:
            await prune_webhook_ids(conn, older_than=keep)

    return periodic(prune, interval_s=interval_s, name="ingest-pruning")
