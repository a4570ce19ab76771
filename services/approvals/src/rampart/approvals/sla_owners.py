"""Who an SLA clock's owner field names: a registry owner's id or its name, looked up outside
any transaction (``owner_loop``), so the clock's warning and breach reach that owner."""

from __future__ import annotations

import contextlib
import logging
from uuid import UUID

from rampart.approvals.directory import OwnerDirectory
from rampart.approvals.notify.store import owner_ref
from rampart.approvals.state import ApprovalsState
from rampart.core.errors import PermanentError, TransientError
from rampart.core.store import Pool
from rampart.core.workers import periodic

log = logging.getLogger(__name__)

SCHEMA = "approvals"


async def look_up_owners(*, pool: Pool, owners: OwnerDirectory, batch: int = 100) -> int:
    """Note the registry owner of up to ``batch`` running clocks whose owner field changed
    since it was last looked up; how many were settled. A name the registry cannot look up
    now is tried again on a later round."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            f"SELECT id, owner FROM {SCHEMA}.sla_timers WHERE owner IS NOT NULL "
            "AND owner IS DISTINCT FROM owner_looked_up AND status IN ('pending', 'paused') "
            "LIMIT $1",
            batch,
        )
    found: dict[str, UUID | None] = {}
    for text in {r["owner"] for r in rows}:
        if (named := owner_ref(text)) is not None:
            found[text] = named
            continue
        try:
            found[text] = await owners.named(text)
        except TransientError as exc:
            log.info("the owner %r of an SLA clock is looked up later: %s", text, exc)
        except PermanentError as exc:
            log.warning("the owner %r of an SLA clock cannot be looked up: %s", text, exc)
            found[text] = None
    settled = [(r["id"], found[r["owner"]], r["owner"]) for r in rows if r["owner"] in found]
    if settled:
        async with pool.acquire() as conn:
            # an owner changed meanwhile is left for the next round
            await conn.executemany(
                f"UPDATE {SCHEMA}.sla_timers SET owner_id = $2, owner_looked_up = $3 "
                "WHERE id = $1 AND owner = $3",
                settled,
            )
    return len(settled)


def owner_loop(
    state: ApprovalsState, *, interval_s: float = 1.0
) -> contextlib.AbstractAsyncContextManager[None]:
    """Look clocks' new owners up while the service runs, apart from the timer loop, so a slow
    or absent registry never holds a warning or a breach back."""

    async def one_round() -> None:
        await look_up_owners(pool=state.pool, owners=state.owners)

    return periodic(one_round, interval_s=interval_s, name="sla-owners")
