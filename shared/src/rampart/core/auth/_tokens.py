"""API tokens: created once in plain text, kept only as hashes, checked on every request."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from rampart.core.ids import uuid7
from rampart.core.store import Connection
from rampart.core.vocabulary import Role

AUTH_SCHEMA = "auth"
TOKEN_PREFIX = "rmp_"  # noqa: S105 - a public prefix, not a secret


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the token's id, name, role and optional subject (e.g. an owner id)."""

    token_id: UUID
    name: str
    role: Role
    subject: str | None


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """A token as listed: never its secret."""

    id: UUID
    name: str
    role: Role
    subject: str | None
    created_at: datetime
    revoked_at: datetime | None


def _hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


async def create_token(
    *, conn: Connection, name: str, role: Role, subject: str | None = None
) -> tuple[TokenInfo, str]:
    """Create a token; returns its info and the secret, which is not stored and not shown again."""
    if not name.strip():
        raise ValueError("a token needs a name")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = await conn.fetchrow(
        f"INSERT INTO {AUTH_SCHEMA}.tokens (id, name, role, subject, token_hash) "
        "VALUES ($1, $2, $3, $4, $5) RETURNING id, name, role, subject, created_at, revoked_at",
        uuid7(),
        name,
        role.value,
        subject,
        _hash(secret),
    )
    return _info(row), secret


async def verify_token(*, conn: Connection, token: str) -> Principal | None:
    """The principal a presented token stands for, or None if unknown or revoked."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    row = await conn.fetchrow(
        f"SELECT id, name, role, subject FROM {AUTH_SCHEMA}.tokens "
        "WHERE token_hash = $1 AND revoked_at IS NULL",
        _hash(token),
    )
    if row is None:
        return None
    return Principal(row["id"], row["name"], Role(row["role"]), row["subject"])


async def list_tokens(*, conn: Connection) -> list[TokenInfo]:
    """Every token, newest first, without secrets."""
    rows = await conn.fetch(
        f"SELECT id, name, role, subject, created_at, revoked_at FROM {AUTH_SCHEMA}.tokens "
        "ORDER BY created_at DESC"
    )
    return [_info(r) for r in rows]


async def revoke_token(*, conn: Connection, token_id: UUID) -> bool:
    """Revoke a token; False if there was no such live token."""
    status = await conn.execute(
        f"UPDATE {AUTH_SCHEMA}.tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL",
        token_id,
    )
    return bool(status.endswith(" 1"))


def _info(row: Any) -> TokenInfo:
    return TokenInfo(
        row["id"],
        row["name"],
        Role(row["role"]),
        row["subject"],
        row["created_at"],
        row["revoked_at"],
    )
