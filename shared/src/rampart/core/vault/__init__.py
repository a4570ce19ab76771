"""The vault: content-addressed file storage in PostgreSQL for what actions collect.

Files (process dumps, quarantined samples, exported logs) are kept once per distinct content
under their SHA-256, in the platform schema ``vault`` that every component using the vault
migrates at start (:meth:`Vault.prepare`). A file is streamed in chunks inside one
transaction: a failed upload leaves nothing behind, and storing the same bytes twice keeps
one copy. Actions return a :class:`VaultRef` (digest, size, name), never the bytes.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import AsyncIterator
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from rampart.core.ids import uuid7
from rampart.core.store import Connection, Pool, affected_rows, apply_migrations, load_migrations

__all__ = ["VAULT_SCHEMA", "Vault", "VaultError", "VaultRef", "VaultUpload"]

VAULT_SCHEMA = "vault"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class VaultError(Exception):
    """A vault operation could not be done: unknown digest, file too large."""


class VaultRef(BaseModel):
    """A file in the vault, as an action result carries it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0)
    name: str | None = None
    content_type: str = "application/octet-stream"


class VaultUpload:
    """One file being written; its :attr:`ref` is set once the upload committed."""

    def __init__(self, conn: Connection, *, blob_id: UUID, chunk_size: int, max_bytes: int) -> None:
        self._conn = conn
        self._blob_id = blob_id
        self._chunk_size = chunk_size
        self._max_bytes = max_bytes
        self._buffer = bytearray()
        self._digest = hashlib.sha256()
        self._seq = 0
        self.size = 0
        self.ref: VaultRef | None = None

    async def write(self, data: bytes) -> None:
        """Append bytes to the file."""
        self.size += len(data)
        if self.size > self._max_bytes:
            raise VaultError(f"file is larger than the vault's limit of {self._max_bytes} bytes")
        self._digest.update(data)
        self._buffer += data
        while len(self._buffer) >= self._chunk_size:
            await self._store(bytes(self._buffer[: self._chunk_size]))
            del self._buffer[: self._chunk_size]

    async def _store(self, chunk: bytes) -> None:
        await self._conn.execute(
            f"INSERT INTO {VAULT_SCHEMA}.chunks (blob_id, seq, data) VALUES ($1, $2, $3)",
            self._blob_id,
            self._seq,
            chunk,
        )
        self._seq += 1

    async def _finish(self, *, name: str | None, content_type: str) -> VaultRef:
        if self._buffer or self._seq == 0:
            await self._store(bytes(self._buffer))
            self._buffer.clear()
        sha256 = self._digest.hexdigest()
        inserted = await self._conn.fetchval(
            f"INSERT INTO {VAULT_SCHEMA}.blobs (id, sha256, size, content_type, name) "
            "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (sha256) DO NOTHING RETURNING id",
            self._blob_id,
            sha256,
            self.size,
            content_type,
            name,
        )
        if inserted is None:
            # The same content is already stored: keep that copy, drop this one's chunks.
            await self._conn.execute(
                f"DELETE FROM {VAULT_SCHEMA}.chunks WHERE blob_id = $1", self._blob_id
            )
        return VaultRef(sha256=sha256, size=self.size, name=name, content_type=content_type)


class Vault:
    """Content-addressed file storage on a PostgreSQL pool."""

    def __init__(
        self, pool: Pool, *, chunk_size: int = 1024 * 1024, max_bytes: int = 8 * 1024**3
    ) -> None:
        if chunk_size < 1024:
            raise ValueError("chunk_size must be at least 1024 bytes")
        self._pool = pool
        self._chunk_size = chunk_size
        self._max_bytes = max_bytes

    async def prepare(self) -> None:
        """Create or migrate the vault's tables; safe to call from many processes at once."""
        await apply_migrations(
            self._pool,
            schema=VAULT_SCHEMA,
            migrations=load_migrations("rampart.core.vault"),
            component="vault",
        )

    @contextlib.asynccontextmanager
    async def upload(
        self, *, name: str | None = None, content_type: str = "application/octet-stream"
    ) -> AsyncIterator[VaultUpload]:
        """Stream a file in with ``await upload.write(...)``; ``upload.ref`` is set on exit."""
        async with self._pool.acquire() as conn, conn.transaction():
            upload = VaultUpload(
                conn, blob_id=uuid7(), chunk_size=self._chunk_size, max_bytes=self._max_bytes
            )
            yield upload
            ref = await upload._finish(name=name, content_type=content_type)
        upload.ref = ref

    async def put(
        self,
        data: bytes,
        *,
        name: str | None = None,
        content_type: str = "application/octet-stream",
    ) -> VaultRef:
        """Store bytes held in memory."""
        async with self.upload(name=name, content_type=content_type) as upload:
            await upload.write(data)
        assert upload.ref is not None
        return upload.ref

    async def stat(self, sha256: str) -> VaultRef | None:
        """The stored file with this digest, or None."""
        if not _SHA256.match(sha256):
            return None
        row = await self._pool.fetchrow(
            f"SELECT sha256, size, name, content_type FROM {VAULT_SCHEMA}.blobs WHERE sha256 = $1",
            sha256,
        )
        return VaultRef(**dict(row)) if row else None

    async def read(self, sha256: str) -> AsyncIterator[bytes]:
        """The file's bytes, chunk by chunk; raises VaultError for an unknown digest."""
        if not _SHA256.match(sha256):
            raise VaultError(f"{sha256!r} is not a SHA-256 hex digest")
        async with self._pool.acquire() as conn, conn.transaction():
            blob_id = await conn.fetchval(
                f"SELECT id FROM {VAULT_SCHEMA}.blobs WHERE sha256 = $1", sha256
            )
            if blob_id is None:
                raise VaultError(f"no file {sha256} in the vault")
            async for row in conn.cursor(
                f"SELECT data FROM {VAULT_SCHEMA}.chunks WHERE blob_id = $1 ORDER BY seq",
                blob_id,
                prefetch=4,
            ):
                yield bytes(row["data"])

    async def read_bytes(self, sha256: str, *, max_bytes: int = 64 * 1024 * 1024) -> bytes:
        """The whole file in memory, if it is at most ``max_bytes``."""
        ref = await self.stat(sha256)
        if ref is None:
            raise VaultError(f"no file {sha256} in the vault")
        if ref.size > max_bytes:
            raise VaultError(f"file {sha256} has {ref.size} bytes, more than {max_bytes}")
        return b"".join([chunk async for chunk in self.read(sha256)])

    async def delete(self, sha256: str) -> bool:
        """Remove a file; False if there was none."""
        status = await self._pool.execute(
            f"DELETE FROM {VAULT_SCHEMA}.blobs WHERE sha256 = $1", sha256
        )
        return affected_rows(status) == 1
