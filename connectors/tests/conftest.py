"""The connectors' test systems, and Rampart running a playbook that acts on them.

``playbook_run`` starts all five services on the shared harness (``start_services``), makes
an asset of a connector through the asset registry's API, posts an event to ingest and
returns the run of a playbook whose ``ctx.act`` the broker hands to the connector's runner:
the path of a real action, end to end.

A real OpenSSH server in a network namespace of its own, with throwaway keys.

The host is ``rampart demo host``'s (``rampart.cli._namespace_host``), with names of the
session's own: a veth pair with link-local addresses that exist only for the test, so nftables
changes made through the connector stay inside it and no traffic leaves the machine. Without
sshd, ip or root the tests skip with the reason; with ``CI=true`` they fail instead.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from rampart.cli._namespace_host import NamespaceHost
from rampart.core.auth import Role
from tests._hosts import namespace_host
from tests.harness import StartServices, eventually


@pytest.fixture(scope="session")
def ssh_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NamespaceHost]:
    """sshd on a free port in a fresh network namespace, as root, with throwaway keys."""
    with namespace_host(
        tmp_path_factory.mktemp("sshd"), label="t", needed_by="the SSH connector tests"
    ) as host:
        yield host


PlaybookRun = Callable[..., Awaitable[dict[str, Any]]]


@pytest.fixture
def playbook_run(start_services: StartServices, tmp_path: Path) -> PlaybookRun:
    """``await playbook_run(connector, config, body)``: the finished run of a playbook.

    ``body`` is the playbook function's body; ``ASSET`` in it names the asset made of
    ``connector`` and ``config`` (no approval needed: the test drives the product, not the
    approvals). The event that starts the run is posted to the real ingest service.
    """
    from rampart.engine.config import EngineSettings
    from rampart.engine.spec import build_spec

    async def run(connector: str, config: dict[str, Any], body: str) -> dict[str, Any]:
        tag = uuid.uuid4().hex[:8]
        asset, label, name = f"{connector}-{tag}", f"e2e-{tag}", f"acting_{tag}"
        folder = tmp_path / "playbooks"
        folder.mkdir()
        indented = "\n".join("    " + line for line in body.strip().splitlines())
        (folder / "acting.py").write_text(
            "from rampart.sdk.playbook import playbook\n\n"
            f"ASSET = {asset!r}\n\n"
            f"@playbook(labels=[{label!r}])\n"
            f"async def {name}(ctx, event):\n{indented}\n"
        )
        engine = build_spec(
            config=EngineSettings(playbooks_dir=folder, processes=1, sync_interval_s=0.2)
        )
        async with (
            start_services(replace=[engine], bus_retry_delay_ms=20) as services,
            services.client(Role.ADMIN) as client,
        ):
            owner = await client.post("/api/v1/owners", json={"name": f"owner-{tag}"})
            assert owner.status_code == 201, owner.text
            made = await client.post(
                "/api/v1/assets",
                json={
                    "name": asset,
                    "connector": connector,
                    "config": config,
                    "primary_owners": [owner.json()["id"]],
                    "approval_policy": {"kinds": []},
                },
            )
            assert made.status_code == 201, made.text
            posted = await client.post("/api/v1/events", json={"name": tag, "labels": [label]})
            assert posted.status_code == 202, posted.text

            async def ended() -> dict[str, Any] | None:
                runs = await client.get("/api/v1/runs", params={"playbook": name})
                assert runs.status_code == 200, runs.text
                done = [r for r in runs.json() if r["status"] in ("completed", "failed")]
                return dict(done[0]) if done else None

            finished = await eventually(ended, timeout=60, what="the playbook run ended")
            detail = await client.get(f"/api/v1/runs/{finished['id']}")
            assert detail.status_code == 200, detail.text
            return dict(detail.json())

    return run
