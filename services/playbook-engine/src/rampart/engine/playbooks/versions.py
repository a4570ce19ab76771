"""Playbook versions: every source kept, each run pinned to one; activation is per playbook."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rampart.core.deps import Conn
from rampart.core.store import Record, affected_rows
from rampart.engine.config import SCHEMA
from rampart.engine.sandbox.protocol import PlaybookMeta
from rampart.sdk.playbook import Budget

_COLUMNS = (
    "name, version, labels, priority, active, source, digest, entry, description, "
    "has_predicate, on_update, budget, origin, path, created_by, created_at"
)


@dataclass(frozen=True, slots=True)
class PlaybookVersion:
    """One stored version of a playbook."""

    name: str
    version: int
    labels: tuple[str, ...]
    priority: int
    active: bool
    source: str
    digest: str
    entry: str
    description: str
    has_predicate: bool
    on_update: bool
    budget: Budget
    origin: str
    path: str | None
    created_by: str | None
    created_at: datetime

    @property
    def filename(self) -> str:
        """The name tracebacks give the playbook's source."""
        return f"<playbook {self.name} v{self.version}>"

    def labels_match(self, labels: list[str]) -> bool:
        """Whether an event with ``labels`` triggers this playbook (before its predicate)."""
        return "*" in self.labels or any(label in labels for label in self.labels)


def _version(row: Record) -> PlaybookVersion:
    values = dict(row)
    values["labels"] = tuple(values["labels"])
    values["budget"] = Budget.from_json(values["budget"] or {})
    return PlaybookVersion(**values)


async def add(
    *,
    conn: Conn,
    meta: PlaybookMeta,
    source: str,
    digest: str,
    origin: str,
    path: str | None,
    created_by: str | None,
    active: bool | None = None,
) -> tuple[PlaybookVersion, bool]:
    """Store a new version unless the newest one has the same source; True if it is new.

    A new version keeps the playbook's activation unless ``active`` says otherwise.
    """
    name = meta.name
    async with conn.transaction():
        # versions of one name are numbered one at a time, across replicas
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"engine.pb.{name}")
        newest = await latest(conn=conn, name=name)
        if newest is not None and newest.digest == digest:
            if active is not None and active != newest.active:
                await set_active(conn=conn, name=name, active=active)
                newest = await latest(conn=conn, name=name)
                assert newest is not None
            return newest, False
        keep = newest.active if newest is not None else True
        row = await conn.fetchrow(
            f"INSERT INTO {SCHEMA}.playbooks (name, version, labels, priority, active, source, "
            "digest, entry, description, has_predicate, on_update, budget, origin, path, "
            "created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, "
            f"$15) RETURNING {_COLUMNS}",
            name,
            (newest.version if newest is not None else 0) + 1,
            list(meta.labels),
            meta.priority,
            keep if active is None else active,
            source,
            digest,
            meta.entry,
            meta.description,
            meta.has_predicate,
            meta.on_update,
            meta.budget,
            origin,
            path,
            created_by,
        )
        if active is not None:
            await set_active(conn=conn, name=name, active=active)
        assert row is not None
        return _version(row), True


async def get(*, conn: Conn, name: str, version: int) -> PlaybookVersion | None:
    """One version of a playbook."""
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM {SCHEMA}.playbooks WHERE name = $1 AND version = $2",
        name,
        version,
    )
    return _version(row) if row else None


async def latest(*, conn: Conn, name: str) -> PlaybookVersion | None:
    """The newest version of a playbook."""
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM {SCHEMA}.playbooks WHERE name = $1 ORDER BY version DESC LIMIT 1",
        name,
    )
    return _version(row) if row else None


async def newest_all(*, conn: Conn, active_only: bool = False) -> list[PlaybookVersion]:
    """The newest version of every playbook, by priority then name."""
    rows = await conn.fetch(
        f"SELECT DISTINCT ON (name) {_COLUMNS} FROM {SCHEMA}.playbooks ORDER BY name, version DESC"
    )
    found = [_version(r) for r in rows]
    if active_only:
        found = [p for p in found if p.active]
    return sorted(found, key=lambda p: (p.priority, p.name))


async def history_of(*, conn: Conn, name: str) -> list[PlaybookVersion]:
    """Every version of a playbook, newest first."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM {SCHEMA}.playbooks WHERE name = $1 ORDER BY version DESC", name
    )
    return [_version(r) for r in rows]


async def set_active(*, conn: Conn, name: str, active: bool) -> bool:
    """Activate or deactivate a playbook (every version); False if there is none."""
    status = await conn.execute(
        f"UPDATE {SCHEMA}.playbooks SET active = $2 WHERE name = $1", name, active
    )
    return affected_rows(status) > 0


async def newest_from_path(*, conn: Conn, path: str) -> PlaybookVersion | None:
    """The newest version that came from a file of the playbooks folder."""
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM {SCHEMA}.playbooks WHERE path = $1 "
        "ORDER BY created_at DESC, version DESC LIMIT 1",
        path,
    )
    return _version(row) if row else None


async def folder_names(*, conn: Conn) -> list[tuple[str, str]]:
    """(name, path) of every active playbook whose newest version came from the folder."""
    rows = await conn.fetch(
        f"SELECT name, path FROM (SELECT DISTINCT ON (name) name, path, origin, active "
        f"FROM {SCHEMA}.playbooks ORDER BY name, version DESC) newest "
        "WHERE origin = 'folder' AND active"
    )
    return [(r["name"], r["path"]) for r in rows]
