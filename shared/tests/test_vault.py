"""The vault on the real PostgreSQL: content addressing, streaming, dedupe, atomic uploads."""

from __future__ import annotations

import asyncio
import hashlib
import os
from typing import Any

import pytest

from rampart.core.vault import VAULT_SCHEMA, Vault, VaultError


@pytest.fixture
async def vault(pool: Any) -> Vault:
    store = Vault(pool, chunk_size=4096, max_bytes=1024 * 1024)
    await store.prepare()
    await store.prepare()  # a second start finds the schema and changes nothing
    return store


async def _rows(pool: Any, sha256: str) -> tuple[int, int]:
    blobs = await pool.fetchval(
        f"SELECT count(*) FROM {VAULT_SCHEMA}.blobs WHERE sha256 = $1", sha256
    )
    chunks = await pool.fetchval(
        f"SELECT count(*) FROM {VAULT_SCHEMA}.chunks c JOIN {VAULT_SCHEMA}.blobs b "
        "ON b.id = c.blob_id WHERE b.sha256 = $1",
        sha256,
    )
    return int(blobs), int(chunks)


async def test_streamed_file_round_trips_under_its_sha256(vault: Vault, pool: Any) -> None:
    data = os.urandom(4096 * 5 + 123)
    async with vault.upload(name="sample.bin") as upload:
        for start in range(0, len(data), 1000):
            await upload.write(data[start : start + 1000])
    ref = upload.ref
    assert ref is not None
    assert ref.sha256 == hashlib.sha256(data).hexdigest()
    assert ref.size == len(data)
    assert await vault.read_bytes(ref.sha256) == data
    assert await _rows(pool, ref.sha256) == (1, 6)
    stat = await vault.stat(ref.sha256)
    assert stat is not None
    assert stat.size == len(data)
    assert stat.name == "sample.bin"


async def test_same_content_is_kept_once(vault: Vault, pool: Any) -> None:
    data = os.urandom(10_000)
    refs = await asyncio.gather(*(vault.put(data, name=f"copy-{i}") for i in range(4)))
    assert len({r.sha256 for r in refs}) == 1
    assert await _rows(pool, refs[0].sha256) == (1, 3)
    orphans = await pool.fetchval(
        f"SELECT count(*) FROM {VAULT_SCHEMA}.chunks c LEFT JOIN {VAULT_SCHEMA}.blobs b "
        "ON b.id = c.blob_id WHERE b.id IS NULL"
    )
    assert orphans == 0


async def test_empty_file_is_a_file(vault: Vault) -> None:
    ref = await vault.put(b"")
    assert ref.sha256 == hashlib.sha256(b"").hexdigest()
    assert await vault.read_bytes(ref.sha256) == b""


async def test_failed_upload_leaves_nothing(vault: Vault, pool: Any) -> None:
    before = await pool.fetchval(f"SELECT count(*) FROM {VAULT_SCHEMA}.chunks")
    with pytest.raises(RuntimeError, match="stream broke"):
        async with vault.upload(name="partial") as upload:
            await upload.write(os.urandom(9000))
            raise RuntimeError("stream broke")
    assert upload.ref is None
    assert await pool.fetchval(f"SELECT count(*) FROM {VAULT_SCHEMA}.chunks") == before


async def test_limits_and_unknown_digests(vault: Vault) -> None:
    with pytest.raises(VaultError, match="larger than"):
        await vault.put(b"x" * (1024 * 1024 + 1))
    unknown = hashlib.sha256(b"never stored").hexdigest()
    assert await vault.stat(unknown) is None
    assert await vault.stat("../../etc/passwd") is None
    with pytest.raises(VaultError, match="no file"):
        await vault.read_bytes(unknown)
    ref = await vault.put(b"to delete")
    assert await vault.delete(ref.sha256)
    assert await vault.stat(ref.sha256) is None
    assert not await vault.delete(ref.sha256)
