"""``python -m bench.assets``: the vault and asset search, each against a raw baseline.

* vault write: a file streamed into :class:`rampart.core.vault.Vault` (chunked, hashed,
  deduplicated, one transaction) vs. the raw baseline of inserting the same bytes as bytea
  chunks with asyncpg in one transaction, with no hashing.
* vault read: ``Vault.read_bytes`` vs. a raw ``SELECT data ... ORDER BY seq``.
* asset search: ``GET /api/v1/assets?action=block ip`` through the app (auth, owner
  aggregation, models) and the service function alone, vs. a raw ``SELECT`` of the rows.

Every figure is the median of ``--repeat`` runs (default 5, env ``RAMPART_BENCH_REPEAT``)
with their min and max, the raw baseline measured in the same run; the ratio is median over
median. The bench runs on uvloop, as the services do. It has no targets, so it prints no
``TARGET`` line; nothing asserts on time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import asyncssh
import httpx
import uvloop
from asgi_lifespan import LifespanManager
from pydantic import SecretStr

from rampart.assets import assets as asset_store
from rampart.assets.spec import build_spec
from rampart.connectors.ssh import SshConnector
from rampart.core.app import create_app
from rampart.core.auth import Role, create_token
from rampart.core.connectors import ConnectorRegistry
from rampart.core.crypto import Keyring
from rampart.core.ids import uuid7
from rampart.core.settings import Settings
from rampart.core.store import connect_pool
from rampart.core.vault import Vault

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/test"
CHUNK = 1024 * 1024
WRITE = 256 * 1024


async def _times(repeat: int, run: Callable[[], Awaitable[float]]) -> list[float]:
    """The seconds of ``repeat`` timed runs."""
    return [await run() for _ in range(repeat)]


def _rates(amount: float, seconds: list[float]) -> list[float]:
    return [amount / s for s in seconds]


async def _timed(work: Callable[[], Awaitable[Any]]) -> float:
    began = time.perf_counter()
    await work()
    return time.perf_counter() - began


Row = tuple[str, list[float], list[float]]


async def _vault_figures(pool: Any, size: int, repeat: int) -> list[Row]:
    vault = Vault(pool, chunk_size=CHUNK, max_bytes=size * 2)
    await vault.prepare()
    await pool.execute("CREATE TABLE IF NOT EXISTS bench_raw (id uuid, seq int, data bytea)")

    async def stream() -> None:
        data = os.urandom(size)  # fresh content each run, so nothing is deduplicated away
        async with vault.upload(name="bench") as upload:
            for start in range(0, size, WRITE):
                await upload.write(data[start : start + WRITE])
        assert upload.ref is not None
        stream.sha256 = upload.ref.sha256  # type: ignore[attr-defined]

    async def raw_insert() -> None:
        data = os.urandom(size)
        key = uuid7()
        async with pool.acquire() as conn, conn.transaction():
            for seq, start in enumerate(range(0, size, CHUNK)):
                await conn.execute(
                    "INSERT INTO bench_raw (id, seq, data) VALUES ($1, $2, $3)",
                    key,
                    seq,
                    data[start : start + CHUNK],
                )
        raw_insert.key = key  # type: ignore[attr-defined]

    write_vault, write_raw = [], []
    for _ in range(repeat):
        write_raw.append(await _timed(raw_insert))
        write_vault.append(await _timed(stream))
    sha256, key = stream.sha256, raw_insert.key  # type: ignore[attr-defined]

    async def read_vault() -> None:
        assert len(await vault.read_bytes(sha256, max_bytes=size)) == size

    async def read_raw() -> None:
        rows = await pool.fetch("SELECT data FROM bench_raw WHERE id = $1 ORDER BY seq", key)
        assert sum(len(r["data"]) for r in rows) == size

    read_vault_s, read_raw_s = [], []
    for _ in range(repeat):
        read_vault_s.append(await _timed(read_vault))
        read_raw_s.append(await _timed(read_raw))
    mib = size / 1024 / 1024
    return [
        ("vault write (MiB/s)", _rates(mib, write_vault), _rates(mib, write_raw)),
        ("vault read (MiB/s)", _rates(mib, read_vault_s), _rates(mib, read_raw_s)),
    ]


async def _search_figures(
    database_url: str, pool: Any, assets: int, requests: int, repeat: int
) -> list[Row]:
    host_key = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode()
    keys = {"host_key": host_key, "password": "bench-only"}
    registry = ConnectorRegistry([SshConnector])
    settings = Settings(
        database_url=SecretStr(database_url), master_key=SecretStr(Keyring.generate_key_text())
    )
    app = create_app([build_spec(connectors=lambda: registry)], settings)
    async with LifespanManager(app, startup_timeout=60) as manager:
        async with pool.acquire() as conn:
            _, token = await create_token(conn=conn, name="bench", role=Role.ADMIN)
        headers = {"Authorization": f"Bearer {token}"}
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://b") as client:
            owner = await client.post("/api/v1/owners", json={"name": "bench"}, headers=headers)
            for i in range(assets):
                body = {
                    "name": f"host-{i:05d}",
                    "connector": "ssh",
                    "config": {"host": f"10.0.{i // 250}.{i % 250}", "username": "r", **keys},
                    "tags": ["linux", f"rack-{i % 10}"],
                    "primary_owners": [owner.json()["id"]],
                }
                created = await client.post("/api/v1/assets", json=body, headers=headers)
                assert created.status_code == 201, created.text

            async def over_http() -> None:
                for _ in range(requests):
                    found = await client.get(
                        "/api/v1/assets", params={"action": "block ip"}, headers=headers
                    )
                    assert len(found.json()) == assets

            async def service() -> None:
                async with pool.acquire() as conn:
                    for _ in range(requests):
                        found = await asset_store.search(
                            conn=conn, registry=registry, connectors=["ssh"], limit=1000
                        )
                        assert len(found) == assets

            async def raw() -> None:
                async with pool.acquire() as conn:
                    for _ in range(requests):
                        rows = await conn.fetch(
                            "SELECT * FROM assets.assets WHERE connector = ANY($1) ORDER BY name",
                            ["ssh"],
                        )
                        assert len(rows) == assets

            http_s: list[float] = []
            service_s: list[float] = []
            raw_s: list[float] = []
            for _ in range(repeat):  # interleaved, so a burst of load weighs on all three
                http_s.append(await _timed(over_http))
                service_s.append(await _timed(service))
                raw_s.append(await _timed(raw))
    http, layer, base = (_rates(requests, t) for t in (http_s, service_s, raw_s))
    return [
        (f"search {assets} assets over HTTP (req/s)", http, base),
        (f"search {assets} assets, service layer (req/s)", layer, base),
    ]


def _cell(values: list[float]) -> str:
    return f"{statistics.median(values):.1f} ({min(values):.1f}-{max(values):.1f})"


async def main(argv: list[str] | None = None) -> None:
    """Create a scratch database, measure, print the table, drop the database."""
    parser = argparse.ArgumentParser(prog="python -m bench.assets", description=__doc__)
    parser.add_argument("--mib", type=int, default=32, help="vault file size (default 32)")
    parser.add_argument("--assets", type=int, default=500, help="assets to search (default 500)")
    parser.add_argument("--requests", type=int, default=20, help="searches per run (default 20)")
    parser.add_argument(
        "--repeat",
        type=int,
        default=int(os.environ.get("RAMPART_BENCH_REPEAT", "5")),
        help="runs per figure; each figure is their median (default 5)",
    )
    args = parser.parse_args(argv)
    server = os.environ.get("RAMPART_BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    name = f"rampart_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(server)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    database_url = f"{server.rpartition('/')[0]}/{name}"
    pool = await connect_pool(database_url, min_size=1, max_size=4)
    try:
        rows = await _vault_figures(pool, args.mib * 1024 * 1024, args.repeat)
        rows += await _search_figures(database_url, pool, args.assets, args.requests, args.repeat)
    finally:
        await pool.close()
        admin = await asyncpg.connect(server)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    print(
        f"bench.assets: median of {args.repeat} runs (min-max); ratio = Rampart / raw baseline, "
        f"median over median; {asyncio.get_event_loop_policy().__class__.__module__}; no targets"
    )
    print(f"{'figure':<46}{'rampart':>24}{'raw':>24}{'ratio':>8}")
    for label, ours, baseline in rows:
        ratio = statistics.median(ours) / statistics.median(baseline)
        print(f"{label:<46}{_cell(ours):>24}{_cell(baseline):>24}{ratio:>8.2f}")


if __name__ == "__main__":
    uvloop.install()
    asyncio.run(main())
