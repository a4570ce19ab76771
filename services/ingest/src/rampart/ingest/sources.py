"""Ingest sources: stored settings, generated secrets with rotation, and the live view."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import jmespath
from pydantic import SecretStr

from rampart.core.crypto import Keyring, open_json, seal_json
from rampart.core.ids import uuid7
from rampart.ingest.normalized import Severity
from rampart.ingest.source_models import (
    GenericMapping,
    QRadarPolling,
    SecretInfo,
    SourceCreate,
    SourcePublic,
    SourceUpdate,
    check_kind,
)

SCHEMA = "ingest"
SECRET_PREFIX = "whsec_"  # noqa: S105 - a public prefix, not a secret
_COLUMNS = (
    "id, name, kind, auth, default_labels, default_severity, severity_map, sla_minutes, "
    "mapping, workbook, qradar, qradar_token, created_at, updated_at"
)


def new_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key a secret stands for."""
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def hash_secret(secret: str | bytes) -> bytes:
    """SHA-256 of a presented secret; enough for 256 random bits."""
    data = secret.encode() if isinstance(secret, str) else secret
    return hashlib.sha256(data).digest()


def _secret_binding(source_id: UUID, secret_id: UUID) -> bytes:
    return f"ingest:sources:{source_id}:secret:{secret_id}".encode()


def _token_binding(source_id: UUID) -> bytes:
    return f"ingest:sources:{source_id}:qradar_token".encode()


async def _add_secret(conn: Any, *, keyring: Keyring, source_id: UUID) -> str:
    secret = new_secret()
    secret_id = uuid7()
    sealed = seal_json(
        {"secret": secret}, keyring=keyring, associated_data=_secret_binding(source_id, secret_id)
    )
    await conn.execute(
        f"INSERT INTO {SCHEMA}.source_secrets (id, source_id, secret_hash, sealed) "
        "VALUES ($1, $2, $3, $4)",
        secret_id,
        source_id,
        hash_secret(secret),
        sealed,
    )
    return secret


def _seal_token(token: SecretStr | None, *, keyring: Keyring, source_id: UUID) -> bytes | None:
    if token is None:
        return None
    return seal_json(
        {"token": token.get_secret_value()},
        keyring=keyring,
        associated_data=_token_binding(source_id),
    )


async def create(*, conn: Any, keyring: Keyring, source: SourceCreate) -> tuple[UUID, str] | None:
    """Create a source and its first secret; None if the name is taken."""
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
            return None
        secret = await _add_secret(conn, keyring=keyring, source_id=source_id)
    return source_id, secret


async def get(*, conn: Any, name: str) -> SourcePublic | None:
    """One source by name, as the API shows it."""
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM {SCHEMA}.sources WHERE name = $1", name)
    if row is None:
        return None
    return (await _public(conn, [row]))[0]


async def list_all(*, conn: Any) -> list[SourcePublic]:
    """Every source by name."""
    rows = await conn.fetch(f"SELECT {_COLUMNS} FROM {SCHEMA}.sources ORDER BY name")
    return await _public(conn, rows)


async def _public(conn: Any, rows: list[Any]) -> list[SourcePublic]:
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
            mapping=GenericMapping(**r["mapping"]) if r["mapping"] else None,
            qradar=QRadarPolling(**r["qradar"]) if r["qradar"] else None,
            has_qradar_token=r["qradar_token"] is not None,
            secrets=by_source.get(r["id"], []),
            webhook_path=f"/api/v1/ingest/{r['name']}",
            created_at=r["created_at"],
            updated_at=r["updated_at"],
        )
        for r in rows
    ]


async def update(
    *, conn: Any, keyring: Keyring, name: str, changes: SourceUpdate
) -> SourcePublic | None:
    """Change a source's settings; None if there is no such source."""
    async with conn.transaction():
        row = await conn.fetchrow(
            f"SELECT id, kind, mapping, qradar, qradar_token FROM {SCHEMA}.sources "
            "WHERE name = $1 FOR UPDATE",
            name,
        )
        if row is None:
            return None
        given = changes.model_dump(exclude_unset=True)
        mapping = changes.mapping if "mapping" in given else _mapping(row["mapping"])
        qradar = changes.qradar if "qradar" in given else _qradar(row["qradar"])
        has_token = changes.qradar_token is not None or (
            "qradar_token" not in given and row["qradar_token"] is not None
        )
        check_kind(row["kind"], mapping, qradar, SecretStr("kept") if has_token else None)
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
        for key in ("default_labels", "default_severity", "severity_map"):
            if key in values and values[key] is None:
                raise ValueError(f"{key}: may not be null")
        if values:
            assignments = ", ".join(f"{k} = ${i}" for i, k in enumerate(values, start=2))
            await conn.execute(
                f"UPDATE {SCHEMA}.sources SET {assignments}, updated_at = now() WHERE id = $1",
                row["id"],
                *values.values(),
            )
    return await get(conn=conn, name=name)


def _mapping(value: Any) -> GenericMapping | None:
    return GenericMapping(**value) if value else None


def _qradar(value: Any) -> QRadarPolling | None:
    return QRadarPolling(**value) if value else None


async def delete(*, conn: Any, name: str) -> bool:
    """Remove a source and its secrets; events it sent stay."""
    status = await conn.execute(f"DELETE FROM {SCHEMA}.sources WHERE name = $1", name)
    return bool(status.endswith(" 1"))


async def rotate_secret(
    *, conn: Any, keyring: Keyring, name: str, grace: timedelta
) -> tuple[str, datetime] | None:
    """Make a new secret; the current ones keep working for ``grace``. None if no source."""
    async with conn.transaction():
        source_id = await conn.fetchval(
            f"SELECT id FROM {SCHEMA}.sources WHERE name = $1 FOR UPDATE", name
        )
        if source_id is None:
            return None
        expire_at = datetime.now(UTC) + grace
        await conn.execute(
            f"UPDATE {SCHEMA}.source_secrets SET expires_at = $2 WHERE source_id = $1 "
            "AND (expires_at IS NULL OR expires_at > $2)",
            source_id,
            expire_at,
        )
        secret = await _add_secret(conn, keyring=keyring, source_id=source_id)
    return secret, expire_at


@dataclass(frozen=True, slots=True)
class LiveSecret:
    """A secret that works now: its hash for bearer checks, its key for signatures."""

    hash: bytes
    key: bytes


@dataclass(frozen=True, slots=True)
class SourceConfig:
    """What the webhook and the adapters need of a source, with its secrets opened."""

    id: UUID | None
    name: str
    kind: str
    auth: str
    default_labels: list[str]
    default_severity: Severity
    severity_map: dict[str, Severity]
    sla_minutes: dict[str, int]
    workbook: str | None
    mapping: GenericMapping | None
    secrets: tuple[LiveSecret, ...]
    compiled: dict[str, Any] = field(default_factory=dict)

    def expression(self, name: str) -> Any:
        """The compiled JMESPath expression of one mapping field."""
        return self.compiled[name]


def _compile(mapping: GenericMapping | None) -> dict[str, Any]:
    if mapping is None:
        return {}
    out: dict[str, Any] = {}
    for name in ("events", "name", "source_ref", "severity", "occurred_at", "labels"):
        expression = getattr(mapping, name)
        if expression is not None:
            out[name] = jmespath.compile(expression)
    for cef_field, expression in mapping.artifacts.items():
        out[f"artifacts.{cef_field}"] = jmespath.compile(expression)
    return out


async def load_config(*, conn: Any, keyring: Keyring, name: str) -> SourceConfig | None:
    """A source with its live secrets opened; None if there is no such source."""
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM {SCHEMA}.sources WHERE name = $1", name)
    if row is None:
        return None
    secret_rows = await conn.fetch(
        f"SELECT id, secret_hash, sealed FROM {SCHEMA}.source_secrets "
        "WHERE source_id = $1 AND (expires_at IS NULL OR expires_at > now())",
        row["id"],
    )
    live = []
    for s in secret_rows:
        secret = open_json(
            s["sealed"], keyring=keyring, associated_data=_secret_binding(row["id"], s["id"])
        )["secret"]
        live.append(LiveSecret(bytes(s["secret_hash"]), secret_key(secret)))
    mapping = _mapping(row["mapping"])
    return SourceConfig(
        id=row["id"],
        name=row["name"],
        kind=row["kind"],
        auth=row["auth"],
        default_labels=list(row["default_labels"]),
        default_severity=row["default_severity"],
        severity_map=dict(row["severity_map"]),
        sla_minutes=dict(row["sla_minutes"]),
        workbook=row["workbook"],
        mapping=mapping,
        secrets=tuple(live),
        compiled=_compile(mapping),
    )


async def qradar_token(*, conn: Any, keyring: Keyring, source_id: UUID) -> str | None:
    """The opened QRadar SEC token of a source."""
    sealed = await conn.fetchval(
        f"SELECT qradar_token FROM {SCHEMA}.sources WHERE id = $1", source_id
    )
    if sealed is None:
        return None
    token = open_json(sealed, keyring=keyring, associated_data=_token_binding(source_id))
    return str(token["token"])


class SourceCache:
    """Sources remembered for a few seconds per process; local changes forget at once."""

    def __init__(self, ttl_s: float) -> None:
        self._ttl_s = ttl_s
        self._entries: dict[str, tuple[float, SourceConfig | None]] = {}

    async def get(self, *, pool: Any, keyring: Keyring, name: str) -> SourceConfig | None:
        """The source's live view, from memory when it is fresh."""
        hit = self._entries.get(name)
        now = time.monotonic()
        if hit is not None and hit[0] > now:
            return hit[1]
        async with pool.acquire() as conn:
            config = await load_config(conn=conn, keyring=keyring, name=name)
        if len(self._entries) > 10_000:
            self._entries.clear()
        # unknown names are remembered too, so a flood of bad names costs no queries
        self._entries[name] = (now + self._ttl_s, config)
        return config

    def forget(self, name: str) -> None:
        """Drop one source from memory after a local change."""
        self._entries.pop(name, None)
