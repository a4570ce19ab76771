"""A source's live view for the webhook, the listeners and the adapters: secrets opened,
mapping compiled, remembered for a few seconds per process."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import jmespath

from rampart.core.crypto import Keyring, open_json
from rampart.core.deps import Conn
from rampart.core.store import Pool
from rampart.core.vocabulary import SeverityName
from rampart.ingest import SCHEMA
from rampart.ingest.sources.models import GenericMapping
from rampart.ingest.sources.secrets import LiveSecret, secret_binding, secret_key, token_binding


@dataclass(frozen=True, slots=True)
class SourceConfig:
    """What the webhook and the adapters need of a source, with its secrets opened."""

    id: UUID | None
    name: str
    kind: str
    auth: str
    default_labels: list[str]
    default_severity: SeverityName
    severity_map: dict[str, SeverityName]
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


async def load_config(*, conn: Conn, keyring: Keyring, name: str) -> SourceConfig | None:
    """A source with its live secrets opened; None if there is no such source."""
    row = await conn.fetchrow(
        f"SELECT id, name, kind, auth, default_labels, default_severity, severity_map, "
        f"sla_minutes, mapping, workbook FROM {SCHEMA}.sources WHERE name = $1",
        name,
    )
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
            s["sealed"], keyring=keyring, associated_data=secret_binding(row["id"], s["id"])
        )["secret"]
        live.append(LiveSecret(bytes(s["secret_hash"]), secret_key(secret)))
    mapping = GenericMapping(**row["mapping"]) if row["mapping"] else None
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


async def qradar_token(*, conn: Conn, keyring: Keyring, source_id: UUID) -> str | None:
    """The opened QRadar SEC token of a source."""
    sealed = await conn.fetchval(
        f"SELECT qradar_token FROM {SCHEMA}.sources WHERE id = $1", source_id
    )
    if sealed is None:
        return None
    token = open_json(sealed, keyring=keyring, associated_data=token_binding(source_id))
    return str(token["token"])


class SourceCache:
    """Sources remembered for a few seconds per process; local changes forget at once."""

    def __init__(self, ttl_s: float) -> None:
        self._ttl_s = ttl_s
        self._entries: dict[str, tuple[float, SourceConfig | None]] = {}

    async def get(self, *, pool: Pool, keyring: Keyring, name: str) -> SourceConfig | None:
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
