"""Create asyncpg pools that speak JSON for ``json``/``jsonb`` columns."""

from __future__ import annotations

import json
from typing import Any

import asyncpg


async def _init_connection(conn: asyncpg.Connection) -> None:
    for typename in ("json", "jsonb"):
        await conn.set_type_codec(
            typename, encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
        )


async def connect_pool(dsn: str, *, min_size: int = 1, max_size: int = 10) -> Any:
    """Open a pool whose connections encode and decode JSON columns as Python values."""
    return await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        init=_init_connection,
        command_timeout=60,
    )


async def is_reachable(pool: Any) -> bool:
    """Whether the database answers a trivial query within two seconds."""
    try:
        async with pool.acquire(timeout=2) as conn:
            return bool(await conn.fetchval("SELECT 1", timeout=2) == 1)
    except Exception:  # any failure means "not ready"
        return False
