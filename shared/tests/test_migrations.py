"""Migrations apply once, in order, under a lock that serialises replicas starting together."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from rampart.core.store import Migration, apply_migrations


def _migrations() -> list[Migration]:
    return [
        Migration(1, "things", "CREATE TABLE {schema}.things (id int PRIMARY KEY)"),
        Migration(2, "more", "ALTER TABLE {schema}.things ADD COLUMN label text"),
    ]


async def test_applies_in_order_once(pool: Any, schema: str) -> None:
    assert await apply_migrations(pool, schema=schema, migrations=_migrations()) == [1, 2]
    assert await apply_migrations(pool, schema=schema, migrations=_migrations()) == []
    cols = await pool.fetch(
        "SELECT column_name FROM information_schema.columns WHERE table_schema=$1 "
        "AND table_name='things' ORDER BY ordinal_position",
        schema,
    )
    assert [c["column_name"] for c in cols] == ["id", "label"]


async def test_replicas_starting_together_do_not_race(pool: Any, schema: str) -> None:
    results = await asyncio.gather(
        *(apply_migrations(pool, schema=schema, migrations=_migrations()) for _ in range(5))
    )
    assert sorted(map(tuple, results)) == [(), (), (), (), (1, 2)]


async def test_edited_migration_is_refused(pool: Any, schema: str) -> None:
    await apply_migrations(pool, schema=schema, migrations=_migrations())
    edited = [_migrations()[0], Migration(2, "more", "SELECT 1")]
    with pytest.raises(RuntimeError, match="changed after it was applied"):
        await apply_migrations(pool, schema=schema, migrations=edited)
