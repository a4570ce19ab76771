"""Every verb of the vendor connectors, end to end: a playbook's ``ctx.act`` → the action
broker → a connector runner → the vendor's fake on a real TLS port → the result in the run.

All five services run through the shared harness (``start_services``), the engine reading
playbooks from the test's folder and events from the real ingest service. Each fake listens
on its own loopback port over HTTPS with a throwaway CA, which the assets trust through their
``tls.ca_bundle``; nothing between the playbook and the fake is stubbed. The fakes, and the
vendor documents each follows, are in ``connectors/tests/fakes/`` (and cited in each
connector's own test module).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import pytest

from connectors.tests.fakes import crowdstrike, defender, fortigate, panos, proxmox, vsphere
from connectors.tests.fakes._serve import serve_tls
from rampart.core.auth import Role
from tests.harness import StartServices, eventually, memory_only

SHA256 = "e" * 64
SHA1 = "a" * 40

PLAYBOOK = """
from rampart.sdk.playbook import playbook

STEPS = {steps!r}

@playbook(labels=["e2e"])
async def {name}(ctx, event):
    out = []
    for verb, params in STEPS:
        result = await ctx.act(verb, asset={asset!r}, **params)
        out.append([verb, result.one().status, result.one().data[0]])
    return out
"""

STEPS: dict[str, list[tuple[str, dict[str, Any]]]] = {
    "panos": [
        ("test connectivity", {}),
        ("block ip", {"ip": "203.0.113.7"}),
        ("unblock ip", {"ip": "203.0.113.7"}),
        ("block url", {"url": "https://evil.example/pay"}),
        ("unblock url", {"url": "https://evil.example/pay"}),
    ],
    "fortigate": [
        ("test connectivity", {}),
        ("block ip", {"ip": "203.0.113.8"}),
        ("block ip", {"ip": "203.0.113.9"}),
        ("unblock ip", {"ip": "203.0.113.8"}),
        ("block domain", {"domain": "evil.example"}),
        ("block domain", {"domain": "bad.example"}),
        ("unblock domain", {"domain": "evil.example"}),
    ],
    "crowdstrike": [
        ("test connectivity", {}),
        ("isolate host", {"host": "web-01"}),
        ("release host", {"host": "web-01"}),
        ("list processes", {"name": "evil"}),
        ("terminate process", {"pid": 4243}),
        ("get process dump", {"pid": 4242}),
        ("hunt hash", {"hash": SHA256}),
        ("block hash", {"hash": SHA256}),
        ("unblock hash", {"hash": SHA256}),
        ("quarantine file", {"hash": "d" * 64}),
    ],
    "defender": [
        ("test connectivity", {}),
        ("isolate host", {"host": "web-01.contoso.example"}),
        ("release host", {"host": "web-01.contoso.example"}),
        ("quarantine file", {"host": defender.MACHINE, "hash": SHA1}),
        ("run script", {"host": defender.MACHINE, "script": "collect.ps1", "args": ["-Deep"]}),
        ("hunt ip", {"ip": "203.0.113.5"}),
    ],
    "vsphere": [
        ("test connectivity", {}),
        ("suspend vm", {"vm": "web-01"}),
        ("resume vm", {"vm": "web-01"}),
    ],
    "proxmox": [
        ("test connectivity", {}),
        ("suspend vm", {"vm": "web-01"}),
        ("resume vm", {"vm": "100"}),
    ],
}


def _configs(urls: dict[str, Any], state: dict[str, Any]) -> dict[str, dict[str, Any]]:
    def tls(name: str) -> dict[str, Any]:
        return {"url": urls[name].url, "tls": {"ca_bundle": urls[name].ca_pem}}

    token_id, token_secret = proxmox.TOKEN.split("=", 1)
    return {
        "panos": {**tls("panos"), "api_key": state["panos"].issue_key(), "poll_interval_s": 0.05},
        "fortigate": {**tls("fortigate"), "api_token": "fgt-token-0123456789"},
        "crowdstrike": {
            **tls("crowdstrike"),
            "client_id": crowdstrike.CLIENT_ID,
            "client_secret": crowdstrike.CLIENT_SECRET,
            "host": "web-01",
            "poll_interval_s": 0.05,
        },
        "defender": {
            **tls("defender"),
            "token_url": f"{urls['defender'].url}/{defender.TENANT}/oauth2/v2.0/token",
            "tenant_id": defender.TENANT,
            "client_id": defender.CLIENT_ID,
            "client_secret": defender.CLIENT_SECRET,
            "poll_interval_s": 0.05,
        },
        "vsphere": {
            **tls("vsphere"),
            "username": "rampart@vsphere.local",
            "password": "Vc-pass1!",
        },
        "proxmox": {
            **tls("proxmox"),
            "token_id": token_id,
            "token_secret": token_secret,
            "poll_interval_s": 0.05,
        },
    }


@memory_only
async def test_every_vendor_verb_runs_from_a_playbook_through_the_broker(
    start_services: StartServices, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rampart.engine.config import EngineSettings
    from rampart.engine.spec import build_spec

    monkeypatch.setenv("RAMPART_BROKER_RECONCILE_INTERVAL_S", "0.2")
    state: dict[str, Any] = {
        "panos": panos.Firewall(),
        "fortigate": fortigate.Fortigate(),
        "crowdstrike": crowdstrike.Falcon(),
        "defender": defender.Defender(),
        "vsphere": vsphere.Vcenter(),
        "proxmox": proxmox.Proxmox(),
    }
    state["crowdstrike"].observed[SHA256] = [crowdstrike.AID]
    state["defender"].network_events = [
        {
            "RemoteIP": "203.0.113.5",
            "DeviceId": defender.MACHINE,
            "DeviceName": "web-01",
            "Timestamp": "2024-05-01T00:00:00Z",
        }
    ]
    apps = {
        "panos": panos.make_app(state["panos"]),
        "fortigate": fortigate.make_app(state["fortigate"]),
        "crowdstrike": crowdstrike.make_app(state["crowdstrike"]),
        "defender": defender.make_app(state["defender"]),
        "vsphere": vsphere.make_app(state["vsphere"]),
        "proxmox": proxmox.make_app(state["proxmox"]),
    }
    folder = tmp_path / "playbooks"
    folder.mkdir()
    for name, steps in STEPS.items():
        (folder / f"{name}.py").write_text(
            PLAYBOOK.format(steps=steps, name=f"drive_{name}", asset=f"{name}-e2e")
        )
    engine = build_spec(
        config=EngineSettings(
            playbooks_dir=folder, sync_interval_s=0.2, timer_interval_s=0.2, processes=6
        )
    )
    async with contextlib.AsyncExitStack() as stack:
        urls = {}
        for name, app in apps.items():
            folder_of = tmp_path / name
            folder_of.mkdir()
            urls[name] = await stack.enter_async_context(serve_tls(app, folder_of))
        state["defender"].base_url = urls["defender"].url
        rampart = await stack.enter_async_context(start_services(replace=[engine]))
        client = await stack.enter_async_context(rampart.client(Role.ADMIN))
        owner = await client.post("/api/v1/owners", json={"name": "connectors-e2e"})
        assert owner.status_code == 201, owner.text
        for name, config in _configs(urls, state).items():
            verbs = sorted({verb for verb, _ in STEPS[name]})
            asset = await client.post(
                "/api/v1/assets",
                json={
                    "name": f"{name}-e2e",
                    "connector": name,
                    "config": config,
                    "primary_owners": [owner.json()["id"]],
                    "approval_policy": {"exempt": verbs},
                },
            )
            assert asset.status_code == 201, asset.text
        apps_listed = await client.get("/api/v1/apps")
        listed = {a["name"]: a for a in apps_listed.json()}
        for name, steps in STEPS.items():
            assert {v for v, _ in steps} <= {a["name"] for a in listed[name]["actions"]}
        posted = await client.post("/api/v1/events", json={"name": "e2e", "labels": ["e2e"]})
        assert posted.status_code == 202, posted.text

        event_id = posted.json()["id"]

        async def ended() -> list[dict[str, Any]] | None:
            # this event's runs only: the session's database holds other tests' runs
            listed = await client.get("/api/v1/runs", params={"event_id": event_id})
            runs = listed.json()
            done = [r for r in runs if r["status"] in ("completed", "failed", "cancelled")]
            return done if len(done) == len(STEPS) else None

        runs = {r["playbook"]: r for r in await eventually(ended, timeout=90, what="6 runs")}

    results = {}
    for name in STEPS:
        run = runs[f"drive_{name}"]
        assert run["status"] == "completed", run.get("error")
        assert [(verb, status) for verb, status, _ in run["result"]] == [
            (verb, "success") for verb, _ in STEPS[name]
        ]
        results[name] = [data for _, _, data in run["result"]]

    # each result is what the product did, and the product's state says so
    fw = state["panos"]
    assert results["panos"][1]["entry"] == "rampart-203.0.113.7"
    assert results["panos"][2]["commit"] == "OK"
    assert fw.running.addresses == {}
    assert fw.running.url_categories == {"rampart-blocked-urls": []}
    assert len(fw.jobs) == 4
    fgt = state["fortigate"]
    assert [m["name"] for m in fgt.objects["addrgrp"]["rampart-blocked"]["member"]] == [
        "rampart-203.0.113.9",
        "rampart-fqdn-bad.example",
    ]
    assert fgt.objects["address"]["rampart-fqdn-bad.example"]["fqdn"] == "bad.example"
    assert results["fortigate"][6]["changed"] is True
    falcon = state["crowdstrike"]
    cs = dict(zip([v for v, _ in STEPS["crowdstrike"]], results["crowdstrike"], strict=True))
    assert cs["list processes"]["count"] == 2
    assert cs["terminate process"]["pids"] == [4243]
    assert 4243 not in falcon.processes
    assert cs["get process dump"]["file"]["size"] > 0
    assert cs["hunt hash"]["devices"] == [{"device_id": crowdstrike.AID, "hostname": "web-01"}]
    assert [i["value"] for i in falcon.iocs.values()] == ["d" * 64]
    assert falcon.hosts[crowdstrike.AID]["status"] == "normal"
    mde = dict(zip([v for v, _ in STEPS["defender"]], results["defender"], strict=True))
    assert mde["run script"]["output"] == "ran collect.ps1 -Deep"
    assert mde["hunt ip"]["count"] == 1
    assert mde["quarantine file"]["type"] == "StopAndQuarantineFile"
    assert results["vsphere"][1]["power_state"] == "SUSPENDED"
    assert state["vsphere"].vms["vm-42"]["power_state"] == "POWERED_ON"
    assert results["proxmox"][1]["qmpstatus"] == "paused"
    assert state["proxmox"].vms[100]["qmpstatus"] == "running"
