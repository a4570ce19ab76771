"""The proxmox connector against a fake Proxmox VE API.

The fake (connectors/tests/fakes/proxmox.py) follows the Proxmox VE API viewer
(https://pve.proxmox.com/pve-docs/api-viewer/) for cluster resources, qemu status and task
status, and "User Management — API Tokens" of the administration guide
(https://pve.proxmox.com/pve-docs/pveum.1.html, source: proxmox/pve-docs pveum.adoc).
"""

from __future__ import annotations

import httpx
import pytest

from connectors.tests.fakes.proxmox import TOKEN, Proxmox, make_app
from rampart.connectors.proxmox import ProxmoxConnector
from rampart.sdk.connector import ActionError, TargetUnavailable
from rampart.sdk.testing import ConnectorHarness

TOKEN_ID, SECRET = TOKEN.split("=", 1)


def harness(pve: Proxmox, secret: str = SECRET) -> ConnectorHarness[ProxmoxConnector]:
    return ConnectorHarness(
        ProxmoxConnector,
        {
            "url": "https://pve.example:8006",
            "token_id": TOKEN_ID,
            "token_secret": secret,
            "poll_interval_s": 0.01,
        },
        http=httpx.ASGITransport(app=make_app(pve)),
    )


def test_the_declaration_matches_the_catalog() -> None:
    harness(Proxmox()).check()


async def test_suspend_and_resume_wait_for_their_tasks() -> None:
    pve = Proxmox(task_polls=2)
    h = harness(pve)
    paused = await h.run("suspend vm", vm="web-01")
    dumped = paused.model_dump()
    assert dumped["qmpstatus"] == "paused"
    assert (dumped["vmid"], dumped["node"], dumped["status"]) == (100, "pve1", "running")
    assert dumped["task"].startswith("UPID:pve1:")
    assert ":qmsuspend:100:" in dumped["task"]
    assert pve.tasks[dumped["task"]]["polls"] == 0
    again = await h.run("suspend vm", vm="100")
    assert again.model_dump()["task"] is None  # already paused: no task
    resumed = await h.run("resume vm", vm="100")
    assert resumed.model_dump()["qmpstatus"] == "running"
    assert "web-01" in h.render("resume vm", resumed)
    assert (await h.run("test connectivity")).model_dump() == {
        "version": "8.2.4",
        "release": "8.2",
    }


async def test_refusals_are_action_errors_in_proxmox_words() -> None:
    pve = Proxmox()
    with pytest.raises(ActionError, match="not running"):
        await harness(pve).run("suspend vm", vm="db-01")
    with pytest.raises(ActionError, match="401: authentication failure") as caught:
        await harness(pve, secret="00000000-bad0-bad0-bad0-000000000000").run(
            "suspend vm", vm="web-01"
        )
    assert not isinstance(caught.value, TargetUnavailable)
    assert "00000000-bad0" not in str(caught.value)
    pve.tokens[TOKEN] = {"VM.Audit"}
    with pytest.raises(ActionError, match=r"403: Permission check failed"):
        await harness(pve).run("suspend vm", vm="web-01")
    assert pve.vms[100]["qmpstatus"] == "running"


async def test_429_and_5xx_are_transient() -> None:
    pve = Proxmox()
    pve.faults.add("/api2/json/cluster", 429, headers={"Retry-After": "5"}, body={"data": None})
    with pytest.raises(TargetUnavailable) as caught:
        await harness(pve).run("suspend vm", vm="web-01")
    assert caught.value.retry_after == 5.0
    pve.faults.add("/api2/json/nodes", 503, body={"data": None})
    with pytest.raises(TargetUnavailable, match="503"):
        await harness(pve).run("suspend vm", vm="web-01")
