"""A playbook's ``get process dump`` and ``get file`` end to end: ``ctx.act`` in the engine,
the action broker, its runner opening the asset's sealed configuration, the ssh connector
against the test sshd (``conftest.py``), gcore on the host, the dump and the file in the vault
and their references in the run.

Every service is the real one, in one app on the test database; the event comes through the
real ingest API.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rampart.core.auth import Role
from rampart.core.vault import Vault
from tests.harness import StartServices, eventually, memory_only

BROKER_VERBS = ("get process dump", "get file")
"""The verbs the test below drives through the broker (the catalog coverage test reads them)."""

DUMPS = """
from rampart.sdk.playbook import playbook

@playbook(labels=["dump-me"])
async def dump_the_process(ctx, event):
    dump = await ctx.act("get process dump", asset="linux-dump", pid=event.data["pid"])
    copy = await ctx.act("get file", asset="linux-dump", path=event.data["path"])
    return {"get process dump": dump.one().data[0], "get file": copy.one().data[0]}
"""


@contextlib.contextmanager
def _sleeping() -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(["sleep", "300"], stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while Path(f"/proc/{proc.pid}/comm").read_text().strip() != "sleep":
            assert time.monotonic() < deadline, "sleep did not start"
            time.sleep(0.02)
        yield proc
    finally:
        proc.kill()
        proc.wait(timeout=10)


@memory_only
async def test_a_playbooks_process_dump_runs_through_the_broker_over_ssh(
    start_services: StartServices, ssh_host: Any, tmp_path: Path
) -> None:
    from rampart.engine.config import EngineSettings
    from rampart.engine.spec import build_spec

    folder = tmp_path / "playbooks"
    folder.mkdir()
    (folder / "dumps.py").write_text(DUMPS)
    engine = build_spec(
        config=EngineSettings(
            playbooks_dir=folder, processes=1, sync_interval_s=0.2, timer_interval_s=0.2
        )
    )
    async with start_services(replace=[engine]) as services, services.client(Role.ADMIN) as api:
        owner = await api.post("/api/v1/owners", json={"name": "linux-team"})
        made = await api.post(
            "/api/v1/assets",
            json={
                "name": "linux-dump",
                "connector": "ssh",
                "config": ssh_host.config(),
                "primary_owners": [owner.json()["id"]],
            },
        )
        assert made.status_code == 201, made.text
        evidence = tmp_path / "evidence.bin"
        evidence.write_bytes(os.urandom(10_000))
        with _sleeping() as proc:
            posted = await api.post(
                "/api/v1/events",
                json={
                    "name": "odd process",
                    "labels": ["dump-me"],
                    "data": {"pid": proc.pid, "path": str(evidence)},
                },
            )
            assert posted.status_code == 202, posted.text

            event_id = posted.json()["id"]

            async def finished() -> dict[str, Any] | None:
                # this event's runs only: the session's database holds other tests' runs
                runs = (await api.get("/api/v1/runs", params={"event_id": event_id})).json()
                ended = [r for r in runs if r["status"] in ("completed", "failed")]
                return ended[0] if ended else None

            run = await eventually(finished, timeout=60, what="the playbook run ended")
            assert proc.poll() is None, "gcore must leave the process running"
        assert run["status"] == "completed", run
        assert set(run["result"]) == set(BROKER_VERBS)
        dump = run["result"]["get process dump"]
        assert (dump["pid"], dump["name"]) == (proc.pid, "sleep")

        listed = (await api.get("/api/v1/action-runs", params={"asset": "linux-dump"})).json()
        by_action = {r["action"]: r for r in listed["items"]}
        assert set(by_action) == set(BROKER_VERBS)
        action_run = by_action["get process dump"]
        assert action_run["status"] == "success"
        assert action_run["connector"] == "ssh"
        assert action_run["request_key"] == f"{run['id']}:1"
        detail = (await api.get(f"/api/v1/action-runs/{action_run['id']}")).json()
        assert [a["outcome"] for a in detail["attempts"]] == ["success"]
        assert detail["data"] == [dump]

        copy = run["result"]["get file"]
        assert (copy["path"], copy["size"]) == (str(evidence), 10_000)
        copied = await Vault(services.pool).read_bytes(copy["file"]["sha256"])
        assert copied == evidence.read_bytes()

        stored = await Vault(services.pool).read_bytes(dump["file"]["sha256"])
        assert len(stored) == dump["file"]["size"] > 4096
        assert hashlib.sha256(stored).hexdigest() == dump["file"]["sha256"]
        assert stored[:4] == b"\x7fELF"  # an ELF file ...
        assert int.from_bytes(stored[16:18], "little") == 4  # ... of type ET_CORE
        assert list((ssh_host.workdir / "dumps").iterdir()) == [], "the host keeps no copy"
