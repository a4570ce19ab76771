"""PostgreSQL access: the asyncpg pool, per-service schemas and numbered migrations."""

from rampart.core.store._migrations import Migration, apply_migrations, load_migrations
from rampart.core.store._pool import connect_pool, is_reachable

__all__ = ["Migration", "apply_migrations", "connect_pool", "is_reachable", "load_migrations"]
