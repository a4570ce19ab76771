"""PostgreSQL access: the asyncpg pool, typed handles, per-service schemas and migrations."""

from rampart.core.store._migrations import Migration, apply_migrations, load_migrations
from rampart.core.store._notifications import Notifications
from rampart.core.store._pool import connect_pool, is_reachable
from rampart.core.store._types import (
    Connection,
    Pool,
    PooledConnection,
    Record,
    affected_rows,
    set_clause,
)

__all__ = [
    "Connection",
    "Migration",
    "Notifications",
    "Pool",
    "PooledConnection",
    "Record",
    "affected_rows",
    "apply_migrations",
    "connect_pool",
    "is_reachable",
    "load_migrations",
    "set_clause",
]
