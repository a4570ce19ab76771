"""The defender connector against a fake Defender for Endpoint API and token endpoint.

The fake (connectors/tests/fakes/defender.py) follows Microsoft Learn's Defender for Endpoint
API reference: "Isolate machine API" (https://learn.microsoft.com/defender-endpoint/api/
isolate-machine), unisolate, "Stop and quarantine file API", "Run live response commands",
"List machines API" and "Advanced hunting API" (https://learn.microsoft.com/defender-endpoint/
api/run-advanced-query-api), with the Microsoft identity platform's client credentials flow.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from connectors.tests.fakes.defender import (
    CLIENT_ID,
    CLIENT_SECRET,
    MACHINE,
    TENANT,
    Defender,
    make_app,
)
from rampart.connectors.defender import DefenderConnector
from rampart.sdk.connector import ActionError, TargetUnavailable
from rampart.sdk.testing import ConnectorHarness

SHA1 = "a" * 40


def harness(d: Defender, **config: Any) -> ConnectorHarness[DefenderConnector]:
    settings = {
        "url": "https://mde.example",
        "token_url": f"https://mde.example/{TENANT}/oauth2/v2.0/token",
        "tenant_id": TENANT,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "poll_interval_s": 0.01,
        **config,
    }
    return ConnectorHarness(DefenderConnector, settings, http=httpx.ASGITransport(app=make_app(d)))


def test_the_declaration_matches_the_catalog() -> None:
    harness(Defender()).check()


async def test_isolate_and_release_find_the_device_across_pages() -> None:
    d = Defender()
    h = harness(d)
    # pc-7 is on the third page of /api/machines: the next links are followed
    done = await h.run("isolate host", host="pc-7.contoso.example")
    assert done.model_dump()["type"] == "Isolate"
    assert done.model_dump()["status"] == "Pending"
    assert d.machines[f"{7:040x}"]["isolated"] is True
    released = await h.run("release host", host="pc-7.contoso.example")
    assert released.model_dump()["type"] == "Unisolate"
    assert d.machines[f"{7:040x}"]["isolated"] is False
    by_ip = await h.run("isolate host", host="10.0.0.5")
    assert by_ip.model_dump()["machine_id"] == MACHINE
    with pytest.raises(ActionError, match="already isolated"):
        await h.run("isolate host", host=MACHINE)


async def test_quarantine_takes_a_sha1_on_one_device() -> None:
    d = Defender()
    h = harness(d)
    done = await h.run("quarantine file", host=MACHINE, hash=SHA1)
    assert done.model_dump()["type"] == "StopAndQuarantineFile"
    assert [a["sha1"] for a in d.actions.values()] == [SHA1]
    with pytest.raises(ActionError, match="SHA-1"):
        await h.run("quarantine file", host=MACHINE, hash="b" * 64)


async def test_run_script_waits_for_live_response_and_reads_the_output() -> None:
    d = Defender(action_polls=2)
    h = harness(d)
    run = await h.run("run script", host=MACHINE, script="collect.ps1", args=["-Deep", "1"])
    assert run.model_dump()["exit_code"] == 0
    assert run.model_dump()["output"] == "ran collect.ps1 -Deep 1"
    with pytest.raises(ActionError, match="library"):
        await h.run("run script", host=MACHINE, script="rm -rf /")


async def test_hunt_ip_runs_an_advanced_hunting_query() -> None:
    d = Defender()
    d.network_events = [
        {
            "RemoteIP": "203.0.113.5",
            "DeviceId": MACHINE,
            "DeviceName": "web-01",
            "Timestamp": f"2024-05-0{i}T00:00:00Z",
        }
        for i in (1, 2, 3)
    ] + [
        {
            "RemoteIP": "198.51.100.1",
            "DeviceId": "x",
            "DeviceName": "x",
            "Timestamp": "2024-05-01T00:00:00Z",
        }
    ]
    hunt = await harness(d).run("hunt ip", ip="203.0.113.5", limit=10)
    assert hunt.model_dump()["devices"] == [
        {
            "device_id": MACHINE,
            "device_name": "web-01",
            "connections": 3,
            "last_seen": "2024-05-03T00:00:00Z",
        }
    ]
    assert "RemoteIP == '203.0.113.5'" in d.queries[0]


async def test_a_wrong_secret_is_an_action_error_in_entras_words() -> None:
    with pytest.raises(ActionError, match="AADSTS7000215") as caught:
        await harness(Defender(), client_secret="mde-wrong-000000").run(
            "isolate host", host=MACHINE
        )
    assert not isinstance(caught.value, TargetUnavailable)
    assert "mde-wrong-000000" not in str(caught.value)


async def test_429_with_retry_after_and_5xx_are_transient() -> None:
    d = Defender()
    d.faults.add(
        "/api/advancedqueries",
        429,
        headers={"Retry-After": "8"},
        body={"error": {"code": "TooManyRequests", "message": "quota"}},
    )
    with pytest.raises(TargetUnavailable) as caught:
        await harness(d).run("hunt ip", ip="203.0.113.5")
    assert caught.value.retry_after == 8.0
    d.faults.add("/api/machines", 503, body={"error": {"code": "ServiceUnavailable"}})
    with pytest.raises(TargetUnavailable, match="503"):
        await harness(d).run("isolate host", host=MACHINE)
