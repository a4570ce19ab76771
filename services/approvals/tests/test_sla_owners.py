"""Who an SLA clock's owner field names, on the database alone: ids are taken as they are,
names are looked up in the registry apart from the clock, again when the owner changes, later
when the registry cannot answer, and never for clocks that are over."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from rampart.approvals import notify, timers
from rampart.approvals.sla_owners import look_up_owners
from rampart.approvals.spec import build_spec
from rampart.core.errors import PermanentError, UnavailableError
from rampart.core.runtime import prepare_database
from rampart.core.store import Pool, connect_pool

SCHEMA = timers.SCHEMA


class _Registry:
    """Owners by name, as the registry would answer; ``down`` while it cannot answer."""

    def __init__(self, known: dict[str, UUID]) -> None:
        self.known = known
        self.down = False
        self.asked: list[str] = []

    async def people(self, owner_id: UUID) -> list[UUID]:
        return [owner_id]

    async def named(self, name: str) -> UUID | None:
        self.asked.append(name)
        if self.down:
            raise UnavailableError("the asset registry could not be reached")
        if name == "x" * 300:
            raise PermanentError("the asset registry refused the name")
        return self.known.get(name)


@pytest.fixture
async def pool(fresh_database: str) -> AsyncIterator[Pool]:
    """A database of the case's own with the approvals schema."""
    p = await connect_pool(fresh_database, min_size=1, max_size=4)
    try:
        await prepare_database(p, [build_spec()])
        yield p
    finally:
        await p.close()


async def _clock(pool: Pool, owner: str | None, status: str = "pending") -> UUID:
    subject_id = uuid4()
    now = datetime.now(UTC)
    await pool.execute(
        f"INSERT INTO {SCHEMA}.sla_timers (id, subject_kind, subject_id, status, started_at, "
        "budget, due_at, owner) VALUES ($1, 'event', $2, $3, $4, interval '1 hour', $5, $6)",
        uuid4(), subject_id, status, now, now + timedelta(hours=1), owner,
    )  # fmt: skip
    return subject_id


async def _owner_id(pool: Pool, subject_id: UUID) -> UUID | None:
    found: UUID | None = await pool.fetchval(
        f"SELECT owner_id FROM {SCHEMA}.sla_timers WHERE subject_id = $1", subject_id
    )
    return found


async def test_names_are_looked_up_once_ids_taken_as_they_are_and_changes_looked_up_again(
    pool: Pool,
) -> None:
    carol, dave, given = uuid4(), uuid4(), uuid4()
    registry = _Registry({"carol": carol, "dave": dave})
    by_name = await _clock(pool, "carol")
    by_id = await _clock(pool, f"owner:{given}")
    nobody = await _clock(pool, "soc-team")
    refused = await _clock(pool, "x" * 300)
    ownerless = await _clock(pool, None)
    over = await _clock(pool, "carol", status="breached")

    assert await look_up_owners(pool=pool, owners=registry) == 4
    assert sorted(registry.asked) == sorted(["carol", "soc-team", "x" * 300])
    assert await _owner_id(pool, by_name) == carol
    assert await _owner_id(pool, by_id) == given
    assert [await _owner_id(pool, s) for s in (nobody, refused, ownerless, over)] == [None] * 4
    # settled clocks are not asked about again, a name no owner has included
    registry.asked.clear()
    assert await look_up_owners(pool=pool, owners=registry) == 0
    assert registry.asked == []

    # the event changes hands while the registry is down: nobody is told in the old owner's
    # place, and the new name is looked up once the registry answers
    async with pool.acquire() as conn:
        await timers.set_owner(conn=conn, subject_kind="event", subject_id=by_name, owner="dave")
    assert await _owner_id(pool, by_name) is None
    registry.down = True
    assert await look_up_owners(pool=pool, owners=registry) == 0
    assert await _owner_id(pool, by_name) is None
    registry.down = False
    assert await look_up_owners(pool=pool, owners=registry) == 1
    assert await _owner_id(pool, by_name) == dave
    # the same owner set again keeps what was found
    async with pool.acquire() as conn:
        await timers.set_owner(conn=conn, subject_kind="event", subject_id=by_name, owner="dave")
    assert await _owner_id(pool, by_name) == dave

    # the owner found is the one told of the clock's breach
    async with pool.acquire() as conn, conn.transaction():
        timer_id = await conn.fetchval(
            f"SELECT id FROM {SCHEMA}.sla_timers WHERE subject_id = $1", by_name
        )
        assert (
            await notify.announce_timer(
                conn=conn, timer_id=timer_id, reason="breach", now=datetime.now(UTC)
            )
            == 1
        )
        told = await conn.fetchval(
            f"SELECT owner_id FROM {SCHEMA}.approval_notifications WHERE timer_id = $1", timer_id
        )
    assert told == dave
