"""The action-runs API: an analyst runs an action by hand through the same resolution and
gate, lists runs with filters and a cursor, reads one with its attempts, cancels; bad input
gets problem+json naming what was wrong, and nothing starts."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest

from rampart.core.auth import Role
from rampart.core.messages import ActionCompleted, ApprovalRequested

PROBLEM = "application/problem+json"


async def _post(broker: Any, body: dict[str, Any], role: Role = Role.ANALYST) -> Any:
    return await broker.client.post("/api/v1/action-runs", json=body, headers=broker.auth(role))


async def test_an_analyst_runs_an_action_by_hand_and_a_resend_is_a_no_op(broker: Any) -> None:
    asset = await broker.asset("by-hand")
    body = {
        "action": "lookup url",
        "target": {"asset": asset["name"]},
        "params": {"url": "https://example.com/x"},
        "request_key": f"hand:{uuid4()}",
    }
    first = await _post(broker, body)
    assert first.status_code == 202, first.text
    accepted = first.json()
    assert accepted["created"] is True
    assert [r["asset"] for r in accepted["runs"]] == [asset["name"]]
    assert accepted["runs"][0]["requested_by"] == "test-analyst"
    done = await broker.message(ActionCompleted, request_key=body["request_key"])
    assert done.status == "success"
    again = await _post(broker, body)
    assert again.status_code == 200
    assert again.json()["created"] is False
    assert [r["id"] for r in again.json()["runs"]] == [r["id"] for r in accepted["runs"]]
    detail = await broker.run(accepted["runs"][0]["id"])
    assert detail["status"] == "success"
    assert [a["outcome"] for a in detail["attempts"]] == ["success"]
    assert detail["data"][0]["params"] == {"url": "https://example.com/x"}


async def test_runs_are_listed_with_filters_and_a_cursor(broker: Any) -> None:
    asset = await broker.asset("listed")
    keys = []
    for n in range(5):
        key = f"list:{uuid4()}"
        keys.append(key)
        body = {
            "action": "lookup domain",
            "target": {"asset": asset["name"]},
            "params": {"domain": f"d{n}.example.com"},
            "request_key": key,
        }
        assert (await _post(broker, body)).status_code == 202
    for key in keys:
        await broker.message(ActionCompleted, request_key=key)
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"asset": asset["name"], "limit": 2, "status": "success"}
        if cursor:
            params["cursor"] = cursor
        page = await broker.client.get(
            "/api/v1/action-runs", params=params, headers=broker.auth(Role.SERVICE)
        )
        assert page.status_code == 200
        seen.extend(r["request_key"] for r in page.json()["items"])
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(keys))  # newest first, each once
    other = await broker.client.get(
        "/api/v1/action-runs",
        params={"asset": asset["name"], "action": "block ip"},
        headers=broker.auth(),
    )
    assert other.json()["items"] == []


async def test_a_run_waiting_for_approval_can_be_cancelled_once(broker: Any) -> None:
    asset = await broker.asset("cancel-me")
    key = f"cancel:{uuid4()}"
    body = {
        "action": "disable user",
        "target": {"asset": asset["name"]},
        "params": {"user": "mallory"},
        "request_key": key,
    }
    posted = await _post(broker, body)
    assert posted.status_code == 202, posted.text
    run = posted.json()["runs"][0]
    assert run["status"] == "pending_approval"
    await broker.message(ApprovalRequested, request_key=key)
    cancelled = await broker.client.post(
        f"/api/v1/action-runs/{run['id']}/cancel", headers=broker.auth(Role.ANALYST)
    )
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    done = await broker.message(ActionCompleted, request_key=key)
    assert done.status == "cancelled"
    twice = await broker.client.post(
        f"/api/v1/action-runs/{run['id']}/cancel", headers=broker.auth(Role.ANALYST)
    )
    assert twice.status_code == 409
    assert twice.headers["content-type"] == PROBLEM
    assert "cancelled" in twice.json()["detail"]


BAD = {
    "unknown action": (
        {"action": "launch", "target": {"tag": "T"}, "params": {}},
        422,
        "action",
    ),
    "unknown asset": (
        {"action": "lookup ip", "target": {"asset": "nowhere"}, "params": {"ip": "192.0.2.1"}},
        404,
        None,
    ),
    "unknown tag": (
        {"action": "lookup ip", "target": {"tag": "none-such"}, "params": {"ip": "192.0.2.1"}},
        404,
        None,
    ),
    "unknown product": (
        {"action": "lookup ip", "target": {"product": "Nope"}, "params": {"ip": "192.0.2.1"}},
        404,
        None,
    ),
    "bad parameter": (
        {"action": "lookup ip", "target": {"tag": "T"}, "params": {"ip": "nope"}},
        422,
        "params.ip",
    ),
    "unknown parameter": (
        {"action": "lookup ip", "target": {"tag": "T"}, "params": {"ip": "192.0.2.1", "x": 1}},
        422,
        "params.x",
    ),
    "two targets": (
        {"action": "lookup ip", "target": {"tag": "T", "asset": "a"}, "params": {}},
        422,
        "body.target",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
async def test_bad_input_is_refused_with_problem_json_and_nothing_starts(
    broker: Any, case: str
) -> None:
    body, status, field = BAD[case]
    tag = f"t-{broker.suffix}"
    await broker.asset("bad-input", tags=[tag])
    body = {**body, "target": {k: tag if v == "T" else v for k, v in body["target"].items()}}
    key = f"bad:{uuid4()}"
    response = await _post(broker, {**body, "request_key": key})
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    if field is not None:
        assert response.json()["errors"][0]["field"].startswith(field)
    assert await broker.runs_of(key) == []


async def test_unknown_runs_are_404_and_readers_cannot_run_actions(broker: Any) -> None:
    missing = await broker.client.get(f"/api/v1/action-runs/{uuid4()}", headers=broker.auth())
    assert missing.status_code == 404
    assert missing.headers["content-type"] == PROBLEM
    cancel = await broker.client.post(
        f"/api/v1/action-runs/{uuid4()}/cancel", headers=broker.auth()
    )
    assert cancel.status_code == 404
    body = {"action": "lookup ip", "target": {"tag": "x"}, "params": {"ip": "192.0.2.1"}}
    assert (await _post(broker, body, Role.SERVICE)).status_code == 403


async def test_undo_runs_the_catalogs_undo_on_the_same_asset_once(broker: Any) -> None:
    asset = await broker.asset("undo-fw", approval_policy={"kinds": []})
    key = f"block:{uuid4()}"
    body = {
        "action": "block ip",
        "target": {"asset": asset["name"]},
        "params": {"ip": "198.51.100.0/24"},
        "request_key": key,
    }
    blocked = (await _post(broker, body)).json()["runs"][0]
    await broker.message(ActionCompleted, request_key=key)
    undo = await broker.client.post(
        f"/api/v1/action-runs/{blocked['id']}/undo", headers=broker.auth(Role.ANALYST)
    )
    assert undo.status_code == 202, undo.text
    undone = undo.json()["runs"][0]
    assert (undone["action"], undone["asset_id"]) == ("unblock ip", asset["id"])
    assert undone["params"] == {"ip": "198.51.100.0/24"}
    done = await broker.message(ActionCompleted, request_key=undo.json()["request_key"])
    assert done.status == "success"
    assert done.results[0].data[0]["action"] == "unblock ip"
    again = await broker.client.post(
        f"/api/v1/action-runs/{blocked['id']}/undo", headers=broker.auth(Role.ANALYST)
    )
    assert again.status_code == 200
    assert [r["id"] for r in again.json()["runs"]] == [undone["id"]]


async def test_undo_of_an_action_without_one_and_resolve_of_a_known_run_are_refused(
    broker: Any,
) -> None:
    asset = await broker.asset("no-undo")
    key = f"lookup:{uuid4()}"
    body = {
        "action": "lookup ip",
        "target": {"asset": asset["name"]},
        "params": {"ip": "192.0.2.3"},
        "request_key": key,
    }
    run = (await _post(broker, body)).json()["runs"][0]
    await broker.message(ActionCompleted, request_key=key)
    undo = await broker.client.post(
        f"/api/v1/action-runs/{run['id']}/undo", headers=broker.auth(Role.ANALYST)
    )
    assert undo.status_code == 422
    assert undo.headers["content-type"] == PROBLEM
    assert undo.json()["errors"][0]["field"] == "action"
    assert "no undo action" in undo.json()["detail"]
    resolve = await broker.client.post(
        f"/api/v1/action-runs/{run['id']}/resolve",
        json={"status": "success"},
        headers=broker.auth(Role.ANALYST),
    )
    assert resolve.status_code == 409
    assert resolve.headers["content-type"] == PROBLEM
    assert resolve.json()["detail"] == (
        f"action run {run['id']} is success; only an unknown run can be resolved"
    )
    assert (await broker.run(run["id"]))["status"] == "success"


async def test_the_widget_shows_the_products_data_as_text_never_markup(broker: Any) -> None:
    asset = await broker.asset("widget")
    key = f"widget:{uuid4()}"
    body = {
        "action": "send message",
        "target": {"asset": asset["name"]},
        "params": {"to": ["soc"], "body": '<script>alert("x")</script><b>bold</b>'},
        "request_key": key,
    }
    run = (await _post(broker, body)).json()["runs"][0]
    await broker.message(ActionCompleted, request_key=key)
    widget = await broker.client.get(
        f"/api/v1/action-runs/{run['id']}/widget", headers=broker.auth(Role.ANALYST)
    )
    assert widget.status_code == 200, widget.text
    assert widget.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in widget.headers["content-security-policy"]
    assert "send message on " + asset["name"] in widget.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;b&gt;bold&lt;/b&gt;" in widget.text
    assert "<script>" not in widget.text
    assert "<b>" not in widget.text


async def test_an_assets_connectivity_is_tested_through_a_runner(broker: Any) -> None:
    asset = await broker.asset("reachable", config={"token": "t"})
    tested = await broker.client.post(
        f"/api/v1/assets/{asset['id']}/test", headers=broker.auth(Role.ANALYST)
    )
    assert tested.status_code == 202, tested.text
    run = tested.json()["runs"][0]
    assert (run["action"], run["asset_id"]) == ("test connectivity", asset["id"])
    done = await broker.message(ActionCompleted, request_key=tested.json()["request_key"])
    assert done.status == "success"
    assert done.results[0].data[0]["token_set"] is True
    missing = await broker.client.post(
        f"/api/v1/assets/{uuid4()}/test", headers=broker.auth(Role.ANALYST)
    )
    assert missing.status_code == 404
    assert missing.headers["content-type"] == PROBLEM


async def test_a_vault_file_downloads_as_an_attachment_to_analysts_only(broker: Any) -> None:
    import hashlib

    from rampart.core.vault import Vault

    data = b"\x7fELF core " + bytes(range(256)) * 5000  # over a megabyte: several chunks
    ref = await Vault(broker.services.pool).put(data, name="core 1234 <web>.dump")
    url = f"/api/v1/vault/{ref.sha256}"

    got = await broker.client.get(url, headers=broker.auth(Role.ANALYST))
    assert got.status_code == 200, got.text
    assert got.content == data
    assert hashlib.sha256(got.content).hexdigest() == ref.sha256
    assert got.headers["content-type"] == "application/octet-stream"
    assert got.headers["content-disposition"] == (
        "attachment; filename*=UTF-8''core%201234%20%3Cweb%3E.dump"
    )
    assert got.headers["x-content-type-options"] == "nosniff"

    reader = await broker.client.get(url, headers=broker.auth(Role.SERVICE))
    assert reader.status_code == 403
    unknown = await broker.client.get(f"/api/v1/vault/{'0' * 64}", headers=broker.auth())
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == PROBLEM
    assert "no file with SHA-256" in unknown.json()["detail"]
    malformed = await broker.client.get("/api/v1/vault/not-a-digest", headers=broker.auth())
    assert malformed.status_code == 422
    assert malformed.headers["content-type"] == PROBLEM
