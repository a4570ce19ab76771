"""`rampart run` as a new user starts it: one process, embedded PostgreSQL, data that survives."""

from __future__ import annotations

import re
import signal
from pathlib import Path

import httpx
import pytest

from tests._processes import RampartProcess, free_port, process_env, wait_ready

pytestmark = pytest.mark.slow


async def test_run_prints_token_once_keeps_data_and_stops_cleanly(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    port = free_port()
    env = process_env({"RAMPART_DATA_DIR": str(data_dir)})
    log = tmp_path / "run.log"
    first = RampartProcess(["run", "--port", str(port)], env, log, port)
    first.start()
    try:
        await wait_ready(first.url, proc=first)
        output = first.output()
        assert f"http://127.0.0.1:{port}/docs" in output
        tokens = re.findall(r"admin token \(shown once, keep it\): (rmp_\S+)", output)
        assert len(tokens) == 1
        headers = {"Authorization": f"Bearer {tokens[0]}"}
        async with httpx.AsyncClient(base_url=first.url, headers=headers) as client:
            posted = await client.post("/api/v1/events", json={"name": "kept across restarts"})
            assert posted.status_code == 202
            event_id = posted.json()["id"]
            docs = await client.get("/openapi.json")
            paths = docs.json()["paths"]
            for path in (
                "/api/v1/events",
                "/api/v1/slas",
                "/api/v1/playbooks",
                "/api/v1/action-runs",
                "/api/v1/assets",
                "/api/v1/owners",
            ):
                assert path in paths
    finally:
        code = first.signal(signal.SIGINT)
    assert code == 0, first.output()[-2000:]
    assert not (data_dir / "pgdata" / "postmaster.pid").exists(), "PostgreSQL was left running"
    assert (data_dir / "master.key").stat().st_mode & 0o077 == 0

    second = RampartProcess(["run", "--port", str(port)], env, tmp_path / "run2.log", port)
    second.start()
    try:
        await wait_ready(second.url, proc=second)
        assert "admin token" not in second.output()
        async with httpx.AsyncClient(base_url=second.url, headers=headers) as client:
            again = await client.get(f"/api/v1/events/{event_id}")
            assert again.status_code == 200
            assert again.json()["name"] == "kept across restarts"
            listed = (await client.get("/api/v1/tokens")).json()
            service = [t for t in listed if t["name"] == "embedded-service"]
            assert len(service) == 2, "one service token per start"
            assert sum(t["revoked_at"] is None for t in service) == 1, "the old one is revoked"
    finally:
        # a service manager stops it with SIGTERM: PostgreSQL must stop too
        assert second.signal(signal.SIGTERM) == 0, second.output()[-2000:]
    assert not (data_dir / "pgdata" / "postmaster.pid").exists(), "PostgreSQL was left running"
