"""Resolution: a request becomes one run per asset, keyed by its request key; a bad one
completes at once as failed, with the reason, and nothing runs."""

from __future__ import annotations

import hashlib
import json
from typing import Any
from uuid import uuid4

import asyncssh
import pytest

from rampart.core.auth import Role
from rampart.core.messages import ActionCompleted, ActionRequested, ActionStarted, ActionTarget


async def test_a_tag_resolves_to_one_run_per_asset_and_completes_with_results_by_asset(
    broker: Any,
) -> None:
    tag = f"web-{broker.suffix}"
    secret = await broker.asset("web-01", config={"token": "s3cret"}, tags=[tag])
    plain = await broker.asset("web-02", tags=[tag])
    request = ActionRequested(
        request_key=f"test:{uuid4()}",
        action="lookup ip",
        target=ActionTarget(tag=tag),
        params={"ip": " 192.0.2.7 "},
        requested_by="tests",
    )
    await broker.publish(request)
    done = await broker.message(ActionCompleted, request_key=request.request_key)
    assert done.status == "success"
    by_asset = {r.asset: r for r in done.results}
    assert set(by_asset) == {secret["name"], plain["name"]}
    for name, result in by_asset.items():
        assert result.status == "success"
        assert result.data[0]["params"] == {"ip": "192.0.2.7"}  # the canonical parameters
        assert result.data[0]["asset"] == name
    # the secret reached the connector only through the runner's decryption
    assert by_asset[secret["name"]].data[0]["token_set"] is True
    assert by_asset[plain["name"]].data[0]["token_set"] is False
    stored = await broker.runs_of(request.request_key)
    assert sorted(r["asset"] for r in stored) == sorted(by_asset)
    assert {r["status"] for r in stored} == {"success"}
    assert {r["connector"] for r in stored} == {"noop"}
    assert {canonical(r["params"]) for r in stored} == {'{"ip":"192.0.2.7"}'}
    for run in stored:
        assert run["fingerprint"] == fingerprint_of("lookup ip", run["asset_id"], run["params"])
    detail = await broker.run(by_asset[secret["name"]].action_run_id)
    assert [a["outcome"] for a in detail["attempts"]] == ["success"]
    started = broker.messages(ActionStarted, request_key=request.request_key)
    assert sorted(s.asset for s in started) == sorted(by_asset)


async def test_the_same_request_delivered_three_times_runs_once(broker: Any) -> None:
    asset = await broker.asset("dup")
    request = ActionRequested(
        request_key=f"test:{uuid4()}",
        action="lookup domain",
        target=ActionTarget(asset=asset["name"]),
        params={"domain": "example.com"},
        requested_by="tests",
    )
    for _ in range(3):
        await broker.publish(request)
    await broker.message(ActionCompleted, request_key=request.request_key)
    # a later request on the same asset completing means the resends were handled too
    after = request.model_copy(update={"request_key": f"test:{uuid4()}"})
    await broker.publish(after)
    await broker.message(ActionCompleted, request_key=after.request_key)
    runs = await broker.runs_of(request.request_key)
    assert len(runs) == 1
    assert runs[0]["attempt_count"] == 1
    assert len(broker.messages(ActionStarted, request_key=request.request_key)) == 1
    assert len(broker.messages(ActionCompleted, request_key=request.request_key)) == 1
    dead = await broker.client.get("/api/v1/dead-letters/broker.requests", headers=broker.auth())
    assert dead.json() == []


async def _ssh_asset(broker: Any) -> dict[str, Any]:
    owner = await broker.owner("ssh-owner")
    key = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode()
    response = await broker.client.post(
        "/api/v1/assets",
        json={
            "name": f"linux-{broker.suffix}",
            "connector": "ssh",
            "config": {
                "host": "127.0.0.1",
                "username": "rampart",
                "host_key": key,
                "password": "x",
            },
            "primary_owners": [owner],
        },
        headers=broker.auth(),
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def fingerprint_of(action: str, asset_id: str, params: dict[str, Any]) -> str:
    body = {"action": action, "asset": asset_id, "connector": "noop", "params": params}
    return hashlib.sha256(canonical(body).encode()).hexdigest()


BAD = {
    "unknown asset": ("lookup ip", {"asset": "nowhere"}, {"ip": "192.0.2.1"}, "no asset named"),
    "empty tag": ("lookup ip", {"tag": "no-such-tag"}, {"ip": "192.0.2.1"}, "no asset has the tag"),
    "unknown product": ("lookup ip", {"product": "Nothing"}, {"ip": "192.0.2.1"}, "of the product"),
    "unknown action": ("launch missiles", {"tag": "x"}, {}, "not an action of the catalog"),
    "bad parameters": ("lookup ip", {"tag": "x"}, {"ip": "not-an-ip"}, "params.ip"),
    "missing parameter": ("block ip", {"tag": "x"}, {}, "params.ip"),
    "unsupported action": (
        "send message",
        {"ssh": ""},
        {"to": ["a@example.com"], "subject": "s", "body": "b"},
        "implements 'send message'",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
async def test_a_bad_request_completes_at_once_as_failed_with_the_reason(
    broker: Any, case: str
) -> None:
    action, target, params, reason = BAD[case]
    if "ssh" in target:
        target = {"asset": (await _ssh_asset(broker))["name"]}
    elif "tag" in target and target["tag"] == "x":
        target = {"tag": f"x-{broker.suffix}"}
        await broker.asset("bad", tags=[target["tag"]])
    request = ActionRequested(
        request_key=f"test:{uuid4()}",
        action=action,
        target=ActionTarget(**target),
        params=params,
        requested_by="tests",
    )
    await broker.publish(request)
    done = await broker.message(ActionCompleted, request_key=request.request_key)
    assert done.status == "failed"
    assert reason in done.message
    assert done.results == []
    assert await broker.runs_of(request.request_key) == []
    assert broker.messages(ActionStarted, request_key=request.request_key) == []


async def test_the_noop_connector_is_listed_among_the_apps(broker: Any) -> None:
    response = await broker.client.get("/api/v1/apps", headers=broker.auth(Role.ANALYST))
    assert response.status_code == 200
    apps = {a["name"]: a for a in response.json()}
    assert apps["noop"]["product"] == "Rampart test"
    catalog = await broker.client.get("/api/v1/actions", headers=broker.auth(Role.ANALYST))
    assert {a["name"] for a in apps["noop"]["actions"]} == {a["name"] for a in catalog.json()}
    assert apps["noop"]["secret_fields"] == ["token"]
