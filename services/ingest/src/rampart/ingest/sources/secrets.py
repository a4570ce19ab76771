"""Source secrets: Standard Webhooks ``whsec_`` values, their hashes and HMAC keys, sealed."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from uuid import UUID

from rampart.core.crypto import Keyring, seal_json
from rampart.core.deps import Conn
from rampart.core.ids import uuid7
from rampart.ingest import SCHEMA

SECRET_PREFIX = "whsec_"  # noqa: S105 - a public prefix, not a secret


@dataclass(frozen=True, slots=True)
class LiveSecret:
    """A secret that works now: its hash for bearer checks, its key for signatures."""

    hash: bytes
    key: bytes


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


def secret_binding(source_id: UUID, secret_id: UUID) -> bytes:
    """What a sealed secret is bound to, so it cannot be moved to another source."""
    return f"ingest:sources:{source_id}:secret:{secret_id}".encode()


def token_binding(source_id: UUID) -> bytes:
    """What a sealed QRadar token is bound to."""
    return f"ingest:sources:{source_id}:qradar_token".encode()


async def add_secret(*, conn: Conn, keyring: Keyring, source_id: UUID) -> str:
    """Make, seal and store a new secret of a source; the secret, to show once."""
    secret = new_secret()
    secret_id = uuid7()
    sealed = seal_json(
        {"secret": secret}, keyring=keyring, associated_data=secret_binding(source_id, secret_id)
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
