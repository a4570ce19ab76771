"""Typed names for the database handles and the two idioms every service's SQL needs."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, TypeAlias

import asyncpg
import asyncpg.pool

if TYPE_CHECKING:
    Record: TypeAlias = asyncpg.Record
    Connection: TypeAlias = (
        asyncpg.pool.PoolConnectionProxy[asyncpg.Record] | asyncpg.Connection[asyncpg.Record]
    )
    Pool: TypeAlias = asyncpg.Pool[asyncpg.Record]
    PooledConnection: TypeAlias = asyncpg.pool.PoolConnectionProxy[asyncpg.Record]
else:
    Record = asyncpg.Record
    Connection = asyncpg.pool.PoolConnectionProxy | asyncpg.Connection
    Pool = asyncpg.Pool
    PooledConnection = asyncpg.pool.PoolConnectionProxy

_COLUMN = re.compile(r"^[a-z_][a-z0-9_]*$")


def affected_rows(status: str) -> int:
    """Rows a command touched, from its status tag (``"UPDATE 3"`` → 3, ``"INSERT 0 1"`` → 1)."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


def set_clause(changes: Mapping[str, object], *, first: int = 1) -> tuple[str, list[object]]:
    """A partial update's ``SET`` list: ``("a = $2, b = $3", [a, b])`` for ``first=2``.

    Column names come from code (a model's fields), never from a request; anything that is
    not a plain lower-case identifier is refused so no caller can splice SQL in.
    """
    if not changes:
        raise ValueError("a partial update needs at least one column")
    parts: list[str] = []
    values: list[object] = []
    for offset, (column, value) in enumerate(changes.items()):
        if not _COLUMN.match(column):
            raise ValueError(f"{column!r} is not a column name")
        parts.append(f"{column} = ${first + offset}")
        values.append(value)
    return ", ".join(parts), values
