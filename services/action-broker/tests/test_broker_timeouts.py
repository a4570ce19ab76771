"""A connector that hangs: timed out and retried when the action is safe to run again,
``unknown`` for a person to settle when it is not."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import pytest

from rampart.core.messages import ActionCompleted, ActionRequested, ActionTarget


@pytest.fixture
def broker_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    env = {
        "RAMPART_BROKER_RECONCILE_INTERVAL_S": "0.1",
        "RAMPART_BROKER_BACKOFF_S": "0.05",
        "RAMPART_BROKER_ACTION_TIMEOUT_S": "0.4",
        "RAMPART_BROKER_MAX_ATTEMPTS": "2",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


async def test_a_hanging_safe_action_is_timed_out_retried_then_failed(broker: Any) -> None:
    asset = await broker.asset("hangs", config={"hang": True})
    request = ActionRequested(
        request_key=f"test:{uuid4()}",
        action="lookup hash",
        target=ActionTarget(asset=asset["name"]),
        params={"hash": "d41d8cd98f00b204e9800998ecf8427e"},
        requested_by="tests",
    )
    await broker.publish(request)
    done = await broker.message(ActionCompleted, request_key=request.request_key)
    assert done.status == "failed"
    assert "no answer within 0.4 s after 2 attempts" in done.results[0].message
    run = await broker.run(done.results[0].action_run_id)
    assert [a["outcome"] for a in run["attempts"]] == ["timeout", "timeout"]


async def test_a_hanging_unsafe_action_ends_unknown_after_one_attempt(broker: Any) -> None:
    asset = await broker.asset(
        "hangs-mail",
        config={"hang": True},
        approval_policy={"kinds": [], "exempt": []},
    )
    request = ActionRequested(
        request_key=f"test:{uuid4()}",
        action="send message",
        target=ActionTarget(asset=asset["name"]),
        params={"to": ["soc@example.com"], "body": "hello"},
        requested_by="tests",
    )
    await broker.publish(request)
    run = await broker.ended_unknown(request.request_key)
    assert "not safe to run again" in run["message"]
    assert run["retry_safe"] is False
    assert [a["outcome"] for a in run["attempts"]] == ["timeout"]


async def test_a_person_settles_an_unknown_run_and_its_request_completes_so(
    broker: Any,
) -> None:
    asset = await broker.asset("hangs-settle", config={"hang": True})
    request = ActionRequested(
        request_key=f"test:{uuid4()}",
        action="send message",
        target=ActionTarget(asset=asset["name"]),
        params={"to": ["soc@example.com"], "body": "did it go?"},
        requested_by="tests",
    )
    await broker.publish(request)
    run = await broker.ended_unknown(request.request_key)
    assert broker.messages(ActionCompleted, request_key=request.request_key) == []
    settled = await broker.client.post(
        f"/api/v1/action-runs/{run['id']}/resolve",
        json={"status": "failed", "comment": "nothing in the mail log"},
        headers=broker.auth(),
    )
    assert settled.status_code == 200, settled.text
    assert settled.json()["status"] == "failed"
    assert settled.json()["decided_by"] == "test-admin"
    assert "resolved as failed by test-admin: nothing in the mail log" in settled.json()["message"]
    done = await broker.message(ActionCompleted, request_key=request.request_key)
    assert done.status == "failed"
    assert [(r.action_run_id, r.status) for r in done.results] == [(UUID(run["id"]), "failed")]
    assert "resolved as failed by test-admin" in done.message
    again = await broker.client.post(
        f"/api/v1/action-runs/{run['id']}/resolve",
        json={"status": "success"},
        headers=broker.auth(),
    )
    assert again.status_code == 409
    bad = await broker.client.post(
        f"/api/v1/action-runs/{run['id']}/resolve", json={"status": "maybe"}, headers=broker.auth()
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "body.status"
    assert len(broker.messages(ActionCompleted, request_key=request.request_key)) == 1
