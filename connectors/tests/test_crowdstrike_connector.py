"""The crowdstrike connector against a fake Falcon API.

The fake (connectors/tests/fakes/crowdstrike.py) follows CrowdStrike's Falcon API reference
(https://developer.crowdstrike.com/api-reference/): the OAuth2 token endpoint, the Hosts
collection (PerformActionV2 ``/devices/entities/devices-actions/v2``), Real Time Response
and Real Time Response Admin (https://developer.crowdstrike.com/api-reference/collections/
real-time-response-admin/), IOC (https://developer.crowdstrike.com/api-reference/collections
/ioc/) and ``/indicators/queries/devices/v1``.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from connectors.tests.fakes.crowdstrike import AID, CLIENT_ID, CLIENT_SECRET, Falcon, make_app
from rampart.connectors.crowdstrike import CrowdstrikeConnector
from rampart.sdk.connector import ActionError, TargetUnavailable, Vault
from rampart.sdk.testing import ConnectorHarness

SHA256 = "e" * 64


def harness(
    falcon: Falcon, vault: Vault | None = None, **config: Any
) -> ConnectorHarness[CrowdstrikeConnector]:
    settings = {
        "url": "https://falcon.example",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "host": "web-01",
        "poll_interval_s": 0.01,
        **config,
    }
    return ConnectorHarness(
        CrowdstrikeConnector, settings, http=httpx.ASGITransport(app=make_app(falcon)), vault=vault
    )


@pytest.fixture
async def vault(pool: Any) -> Vault:
    store = Vault(pool, chunk_size=64 * 1024)
    await store.prepare()
    return store


def test_the_declaration_matches_the_catalog() -> None:
    harness(Falcon()).check()


async def test_isolate_and_release_by_host_name_and_address() -> None:
    falcon = Falcon()
    h = harness(falcon)
    done = await h.run("isolate host", host="web-01")
    assert done.model_dump() == {"host": "web-01", "device_id": AID, "action": "contain"}
    assert falcon.hosts[AID]["status"] == "contained"
    released = await h.run("release host", host="10.0.0.5")
    assert released.model_dump()["action"] == "lift_containment"
    assert falcon.hosts[AID]["status"] == "normal"
    with pytest.raises(ActionError, match="no host 'db-09'"):
        await h.run("isolate host", host="db-09")
    assert falcon.token_requests <= 1  # the token is cached across actions


async def test_processes_are_listed_and_killed_through_rtr_sessions() -> None:
    falcon = Falcon()
    h = harness(falcon)
    listed = await h.run("list processes")
    assert [(p["pid"], p["name"]) for p in listed.model_dump()["processes"]] == [
        (880, "svchost"),
        (4242, "evil"),
        (4243, "evil"),
    ]
    assert "svchost" in h.render("list processes", listed)
    only = await h.run("list processes", name="evil")
    assert only.model_dump()["count"] == 2
    killed = await h.run("terminate process", name="evil")
    assert killed.model_dump() == {"host": "web-01", "pids": [4242, 4243]}
    assert falcon.processes == {880: "svchost"}
    assert falcon.sessions == {}  # every session deleted
    with pytest.raises(ActionError, match="not found"):
        await h.run("terminate process", pid=999)


async def test_a_process_dump_is_collected_into_the_vault(vault: Vault) -> None:
    falcon = Falcon()
    dump = await harness(falcon, vault).run("get process dump", pid=4242)
    ref = dump.model_dump()["file"]
    path = "C:\\Windows\\Temp\\rampart-4242.dmp"
    assert await vault.read_bytes(ref["sha256"]) == f"7z-archive-of:{path}".encode()
    assert falcon.commands == [f"memdump 4242 '{path}'", f"get '{path}'", f"rm '{path}'"]


async def test_hunt_hash_follows_every_page_up_to_the_limit() -> None:
    falcon = Falcon()
    falcon.observed[SHA256] = [f"{i:032x}" for i in range(250)]
    h = harness(falcon)
    hunt = await h.run("hunt hash", hash=SHA256, limit=1000)
    assert hunt.model_dump()["count"] == 250
    assert hunt.model_dump()["truncated"] is False
    assert hunt.model_dump()["devices"][249]["device_id"] == f"{249:032x}"
    capped = await h.run("hunt hash", hash=SHA256, limit=120)
    assert (capped.model_dump()["count"], capped.model_dump()["truncated"]) == (120, True)
    with pytest.raises(ActionError, match="MD5 or SHA-256"):
        await h.run("hunt hash", hash="a" * 40)


async def test_block_unblock_and_quarantine_make_prevent_iocs() -> None:
    falcon = Falcon()
    h = harness(falcon)
    blocked = await h.run("block hash", hash=SHA256)
    assert blocked.model_dump()["changed"] is True
    [ioc] = falcon.iocs.values()
    assert (ioc["type"], ioc["value"], ioc["action"], ioc["applied_globally"]) == (
        "sha256",
        SHA256,
        "prevent",
        True,
    )
    assert (await h.run("block hash", hash=SHA256)).model_dump()["changed"] is False
    removed = await h.run("unblock hash", hash=SHA256)
    assert removed.model_dump()["changed"] is True
    assert falcon.iocs == {}
    quarantined = await h.run("quarantine file", path="C:\\Users\\x\\evil.exe")
    assert quarantined.model_dump()["hash"] == "c" * 64
    assert [i["value"] for i in falcon.iocs.values()] == ["c" * 64]


async def test_wrong_credentials_are_action_errors_without_the_secret() -> None:
    falcon = Falcon()
    with pytest.raises(ActionError, match="Not Authorized") as caught:
        await harness(falcon, client_secret="cs-wrong-secret-000").run(
            "isolate host", host="web-01"
        )
    assert not isinstance(caught.value, TargetUnavailable)
    assert "cs-wrong-secret-000" not in str(caught.value)
    assert falcon.hosts[AID]["status"] == "normal"


async def test_429_with_retry_after_and_5xx_are_transient() -> None:
    falcon = Falcon()
    falcon.faults.add("/devices/queries", 429, headers={"Retry-After": "6"}, body={"errors": []})
    with pytest.raises(TargetUnavailable) as caught:
        await harness(falcon).run("isolate host", host="web-01")
    assert caught.value.retry_after == 6.0
    falcon.faults.add("/devices/entities/devices-actions", 500, body={"errors": []})
    with pytest.raises(TargetUnavailable, match="500"):
        await harness(falcon).run("isolate host", host="web-01")
