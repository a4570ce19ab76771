"""Numbered ``.sql`` migrations per schema, applied once each under an advisory lock."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

_NAME = re.compile(r"^(?P<version>\d{3,})_(?P<name>[a-z0-9_]+)\.sql$")
_SCHEMA = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


@dataclass(frozen=True, slots=True)
class Migration:
    """One numbered SQL file; ``{schema}`` in its text is replaced by the target schema."""

    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        """SHA-256 of the file's text, to notice an applied migration that was edited."""
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load_migrations(package: str) -> list[Migration]:
    """Read ``NNN_name.sql`` files from a package's ``migrations`` folder, in order."""
    folder = resources.files(package).joinpath("migrations")
    found: list[Migration] = []
    for entry in folder.iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match["version"]), match["name"], entry.read_text()))
    versions = [m.version for m in found]
    if len(versions) != len(set(versions)):
        raise ValueError(f"{package}: two migrations share a version number")
    return sorted(found, key=lambda m: m.version)


def _lock_key(schema: str) -> int:
    return int.from_bytes(
        hashlib.sha256(f"rampart.migrate.{schema}".encode()).digest()[:8], "big", signed=True
    )


async def apply_migrations(
    pool: Any, *, schema: str, migrations: list[Migration], component: str = "service"
) -> list[int]:
    """Apply the migrations ``schema`` lacks for ``component``; returns the versions applied.

    The platform's own tables (outbox, inbox) and a service's tables live in one schema as
    two components with their own numbering. A transaction-level advisory lock per schema
    makes replicas that start together wait for each other instead of racing.
    """
    if not _SCHEMA.match(schema):
        raise ValueError(f"invalid schema name {schema!r}")
    applied: list[int] = []
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _lock_key(schema))
        await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        await conn.execute(
            f"""CREATE TABLE IF NOT EXISTS "{schema}".schema_migrations (
                component text NOT NULL,
                version integer NOT NULL,
                name text NOT NULL,
                checksum text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (component, version))"""
        )
        rows = await conn.fetch(
            f'SELECT version, checksum FROM "{schema}".schema_migrations WHERE component = $1',
            component,
        )
        done = {r["version"]: r["checksum"] for r in rows}
        for migration in migrations:
            if migration.version in done:
                if done[migration.version] != migration.checksum:
                    raise RuntimeError(
                        f"migration {schema}/{component}/{migration.version:03d}_"
                        f"{migration.name} was changed after it was applied; "
                        "add a new migration instead"
                    )
                continue
            await conn.execute(migration.sql.replace("{schema}", schema))
            await conn.execute(
                f'INSERT INTO "{schema}".schema_migrations '
                "(component, version, name, checksum) VALUES ($1, $2, $3, $4)",
                component,
                migration.version,
                migration.name,
                migration.checksum,
            )
            applied.append(migration.version)
    return applied
