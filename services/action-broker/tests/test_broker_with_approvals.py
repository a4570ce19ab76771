"""The gate with the real approvals service: the asset's owner decides through the approvals
API, and the broker runs (or refuses) exactly what was approved."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from rampart.core.messages import (
    ActionCompleted,
    ActionRequested,
    ActionStarted,
    ActionTarget,
    ApprovalDecided,
    ApprovalRequested,
)


async def _approver(broker: Any, owner_id: str) -> dict[str, str]:
    made = await broker.client.post(
        f"/api/v1/owners/{owner_id}/approver-tokens", headers=broker.auth()
    )
    assert made.status_code == 201, made.text
    return {"Authorization": f"Bearer {made.json()['token']}"}


async def _gated(broker: Any) -> tuple[ActionRequested, ApprovalRequested, dict[str, Any]]:
    owner = await broker.owner("web-team")
    asset = await broker.asset("fw-real", primary_owners=[owner])
    request = ActionRequested(
        request_key=f"test:{uuid4()}",
        action="block ip",
        target=ActionTarget(asset=asset["name"]),
        params={"ip": "203.0.113.7"},
        requested_by="playbook:contain",
    )
    await broker.publish(request)
    asked = await broker.message(ApprovalRequested, request_key=request.request_key)
    headers = await _approver(broker, owner)

    async def waiting() -> dict[str, Any] | None:
        mine = await broker.client.get(
            "/api/v1/approvals", params={"mine": "true"}, headers=headers
        )
        assert mine.status_code == 200, mine.text
        hits = [a for a in mine.json() if a["action_run_id"] == str(asked.action_run_id)]
        return hits[0] if hits else None

    approval = await broker.eventually(waiting)
    return request, asked, {"approval": approval, "headers": headers}


async def test_the_owner_approves_through_the_api_and_the_action_runs(broker: Any) -> None:
    request, asked, found = await _gated(broker)
    assert found["approval"]["fingerprint"] == asked.fingerprint
    assert found["approval"]["params"] == {"ip": "203.0.113.7"}
    assert broker.messages(ActionStarted, request_key=request.request_key) == []
    decided = await broker.client.post(
        f"/api/v1/approvals/{found['approval']['id']}/decision",
        json={"decision": "approve", "comment": "blocking it"},
        headers=found["headers"],
    )
    assert decided.status_code == 200, decided.text
    done = await broker.message(ActionCompleted, request_key=request.request_key)
    assert done.status == "success"
    assert done.results[0].data[0]["params"] == {"ip": "203.0.113.7"}
    decision = await broker.message(ApprovalDecided, request_key=request.request_key)
    assert decision.fingerprint == asked.fingerprint
    run = await broker.run(asked.action_run_id)
    assert run["status"] == "success"
    assert run["decision_comment"] == "blocking it"


async def test_the_owner_denies_and_the_action_never_starts(broker: Any) -> None:
    request, asked, found = await _gated(broker)
    decided = await broker.client.post(
        f"/api/v1/approvals/{found['approval']['id']}/decision",
        json={"decision": "deny", "comment": "that is our DNS"},
        headers=found["headers"],
    )
    assert decided.status_code == 200, decided.text
    done = await broker.message(ActionCompleted, request_key=request.request_key)
    assert done.status == "denied"
    assert "that is our DNS" in done.results[0].message
    assert broker.messages(ActionStarted, request_key=request.request_key) == []
    assert (await broker.run(asked.action_run_id))["status"] == "denied"
