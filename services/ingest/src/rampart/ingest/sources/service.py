"""Ingest sources as admins manage them: create, read, change, delete, rotate the secret."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from pydantic import SecretStr

from rampart.core.crypto import Keyring, seal_json
from rampart.core.deps import Conn
from rampart.core.errors import ConflictError, FieldError, NotFoundError
from rampart.core.ids import uuid7
from rampart.core.store import Record, affected_rows, set_clause
from rampart.ingest import SCHEMA
from rampart.ingest.sources.models import (
    GenericMapping,
    QRadarPolling,
    SecretInfo,
    SecretRotated,
    SourceCreate,
    SourceCreated,
    SourcePublic,
    SourceUpdate,
    kind_mismatch,
)
from rampart.ingest.sources.secrets import add_secret, token_binding

_COLUMNS = (
    "id, name, kind, auth, default_labels, default_severity, severity_map, sla_minutes, "
    "mapping, workbook, qradar, qradar_token, created_at, updated_at"
)


def _seal_token(token: SecretStr | None, *, keyring: Keyring, source_id: UUID) -> bytes | None:
    if token is None:
        return None
    return seal_json(
        {"token": token.get_secret_value()},
        keyring=keyring,
        associated_data=token_binding(source_id),
    )


async def create(*, conn: Conn, keyring: Keyring, source: SourceCreate) -> SourceCreated:
    """Create a source and its first secret, shown in the answer only; the name is unique."""
    source_id = uuid7()
    async with conn.transaction():
        inserted = await conn.fetchval(
            f"INSERT INTO {SCHEMA}.sources (id, name, kind, auth, default_labels, "
            "default_severity, severity_map, sla_minutes, mapping, workbook, qradar, "
            "qradar_token) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) "
            "ON CONFLICT (name) DO NOTHING RETURNING id",
            source_id,
            source.name,
            source.kind,
            source.auth,
            source.default_labels,
            source.default_severity,
            source.severity_map,
            source.sla_minutes,
            source.mapping.model_dump() if source.mapping else None,
            source.workbook,
            source.qradar.model_dump(mode="json") if source.qradar else None,
            _seal_token(source.qradar_token, keyring=keyring, source_id=source_id),
        )
        if inserted is None:
            raise ConflictError(f"name: a source named {source.name!r} exists")
        secret = await add_secret(conn=conn, keyring=keyring, source_id=source_id)
        public = await get(conn=conn, name=source.name)
    assert public is not None  # inserted in this transaction
    return SourceCreated(**public.model_dump(), secret=secret)


async def get(*, conn: Conn, name: str) -> SourcePublic | None:
    """One source by name, as the API shows it."""
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM {SCHEMA}.sources WHERE name = $1", name)
    if row is None:
        return None
    return (await _public(conn=conn, rows=[row]))[0]


async def list_all(*, conn: Conn) -> list[SourcePublic]:
    """Every source by name."""
    rows = await conn.fetch(f"SELECT {_COLUMNS} FROM {SCHEMA}.sources ORDER BY name")
    return await _public(conn=conn, rows=rows)


async def _public(*, conn: Conn, rows: Sequence[Record]) -> list[SourcePublic]:
    ids = [r["id"] for r in rows]
    secret_rows = await conn.fetch(
        f"SELECT id, source_id, created_at, expires_at FROM {SCHEMA}.source_secrets "
        "WHERE source_id = ANY($1::uuid[]) AND (expires_at IS NULL OR expires_at > now()) "
        "ORDER BY created_at DESC",
        ids,
    )
    by_source: dict[UUID, list[SecretInfo]] = {}
    for s in secret_rows:
        by_source.setdefault(s["source_id"], []).append(
            SecretInfo(id=s["id"], created_at=s["created_at"], expires_at=s["expires_at"])
        )
    return [
        SourcePublic(
            id=r["id"],
            name=r["name"],
            kind=r["kind"],
            auth=r["auth"],
            default_labels=r["default_labels"],
            default_severity=r["default_severity"],
            severity_map=r["severity_map"],
            sla_minutes=r["sla_minutes"],
            workbook=r["workbook"],
            mapping=_mapping(r["mapping"]),
            qradar=_qradar(r["qradar"]),
            has_qradar_token=r["qradar_token"] is not None,
            secrets=by_source.get(r["id"], []),
            webhook_path=f"/api/v1/ingest/{r['name']}",
            created_at=r["created_at"],
            updated_at=r["updated_at"],
        )
        for r in rows
    ]


async def update(*, conn: Conn, keyring: Keyring, name: str, changes: SourceUpdate) -> SourcePublic:
    """Change a source's settings; its kind and name stay."""
    async with conn.transaction():
        row = await conn.fetchrow(
            f"SELECT id, kind, mapping, qradar, qradar_token FROM {SCHEMA}.sources "
            "WHERE name = $1 FOR UPDATE",
            name,
        )
        if row is None:
            raise NotFoundError(f"no source {name!r}")
        given = changes.model_dump(exclude_unset=True)
        mapping = changes.mapping if "mapping" in given else _mapping(row["mapping"])
        before = _qradar(row["qradar"])
        qradar = changes.qradar if "qradar" in given else before
        # a stored token is only ever sent where it was given for: a new URL needs it again
        moved = before is not None and qradar is not None and qradar.url != before.url
        has_token = changes.qradar_token is not None or (
            "qradar_token" not in given and row["qradar_token"] is not None and not moved
        )
        mismatch = kind_mismatch(
            row["kind"], mapping, qradar, SecretStr("kept") if has_token else None
        )
        if mismatch is not None and moved and mismatch[0] == "qradar_token":
            raise FieldError("qradar_token", "the QRadar URL changed: give its SEC token again")
        if mismatch is not None:
            raise FieldError(*mismatch)
        values: dict[str, Any] = {}
        for key in ("auth", "default_labels", "default_severity", "severity_map", "workbook"):
            if key in given:
                values[key] = given[key]
        if "severity_map" in values and values["severity_map"] is not None:
            values["severity_map"] = {
                k.strip().lower(): v for k, v in values["severity_map"].items()
            }
        if "sla_minutes" in given:
            values["sla_minutes"] = given["sla_minutes"] or {}
        if "mapping" in given:
            values["mapping"] = mapping.model_dump() if mapping else None
        if "qradar" in given:
            values["qradar"] = qradar.model_dump(mode="json") if qradar else None
        if "qradar_token" in given:
            values["qradar_token"] = _seal_token(
                changes.qradar_token, keyring=keyring, source_id=row["id"]
            )
        for key in ("auth", "default_labels", "default_severity", "severity_map"):
            if key in values and values[key] is None:
                raise FieldError(key, "may not be null")
        if values:
            assignments, args = set_clause(values, first=2)
            await conn.execute(
                f"UPDATE {SCHEMA}.sources SET {assignments}, updated_at = now() WHERE id = $1",
                row["id"],
                *args,
            )
        public = await get(conn=conn, name=name)
    assert public is not None  # locked in this transaction
    return public


def _mapping(value: Any) -> GenericMapping | None:
    return GenericMapping(**value) if value else None


def _qradar(value: Any) -> QRadarPolling | None:
    return QRadarPolling(**value) if value else None


async def delete(*, conn: Conn, name: str) -> None:
    """Remove a source and its secrets; events it sent stay."""
    status = await conn.execute(f"DELETE FROM {SCHEMA}.sources WHERE name = $1", name)
    if affected_rows(status) == 0:
        raise NotFoundError(f"no source {name!r}")


async def rotate_secret(
    *, conn: Conn, keyring: Keyring, name: str, grace: timedelta
) -> SecretRotated:
    """Make a new secret, shown once; the current ones keep working for ``grace``."""
    async with conn.transaction():
        source_id = await conn.fetchval(
            f"SELECT id FROM {SCHEMA}.sources WHERE name = $1 FOR UPDATE", name
        )
        if source_id is None:
            raise NotFoundError(f"no source {name!r}")
        expire_at = datetime.now(UTC) + grace
        await conn.execute(
            f"UPDATE {SCHEMA}.source_secrets SET expires_at = $2 WHERE source_id = $1 "
            "AND (expires_at IS NULL OR expires_at > $2)",
            source_id,
            expire_at,
        )
        secret = await add_secret(conn=conn, keyring=keyring, source_id=source_id)
    return SecretRotated(secret=secret, previous_expire_at=expire_at)
