"""The approval gate: the asset's policy decides, a gated run waits for a decision on the
fingerprint of exactly what will run, and ends denied or expired with who and why."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from rampart.core.messages import (
    ActionCompleted,
    ActionRequested,
    ActionStarted,
    ActionTarget,
    ApprovalDecided,
    ApprovalRequested,
)


def _block(asset: dict[str, Any]) -> ActionRequested:
    return ActionRequested(
        request_key=f"test:{uuid4()}",
        action="block ip",
        target=ActionTarget(asset=asset["name"]),
        params={"ip": "203.0.113.9/32"},
        requested_by="playbook:contain",
    )


def _decision(asked: ApprovalRequested, decision: str, **fields: Any) -> ApprovalDecided:
    return ApprovalDecided(
        approval_id=uuid4(),
        action_run_id=asked.action_run_id,
        request_key=asked.request_key,
        decision=decision,  # type: ignore[arg-type]
        decided_by=fields.pop("decided_by", "alice"),
        decided_at=datetime.now(UTC),
        fingerprint=fields.pop("fingerprint", asked.fingerprint),
        **fields,
    )


async def test_a_contain_action_waits_for_approval_of_its_fingerprint_then_runs(
    broker: Any,
) -> None:
    primary = await broker.owner("primary")
    secondary = await broker.owner("secondary")
    asset = await broker.asset(
        "fw",
        primary_owners=[primary],
        secondary_owners=[secondary],
        approval_policy={"approvals_required": 2, "sla_minutes": {"primary": 15}},
    )
    request = _block(asset)
    await broker.publish(request)
    asked = await broker.message(ApprovalRequested, request_key=request.request_key)
    assert asked.asset == asset["name"]
    assert asked.connector == "noop"
    assert asked.params == {"ip": "203.0.113.9"}
    assert asked.required_approvals == 2
    assert [(s.stage, s.assignees, s.sla_minutes) for s in asked.stages] == [
        ("primary", [primary], 15),
        ("secondary", [secondary], 30),
    ]
    what = {
        "action": "block ip",
        "asset": asset["id"],
        "connector": "noop",
        "params": {"ip": "203.0.113.9"},
    }
    canonical = json.dumps(what, sort_keys=True, separators=(",", ":"))
    assert asked.fingerprint == hashlib.sha256(canonical.encode()).hexdigest()
    run = await broker.run(asked.action_run_id)
    assert run["status"] == "pending_approval"
    assert run["fingerprint"] == asked.fingerprint
    assert broker.messages(ActionStarted, request_key=request.request_key) == []

    await broker.publish(_decision(asked, "approved", comment="go"))
    done = await broker.message(ActionCompleted, request_key=request.request_key)
    assert done.status == "success"
    assert done.results[0].data[0]["params"] == {"ip": "203.0.113.9"}
    run = await broker.run(asked.action_run_id)
    assert run["decided_by"] == "alice"
    assert run["decision_comment"] == "go"


async def test_a_denied_run_ends_denied_with_who_and_why_and_never_starts(broker: Any) -> None:
    asset = await broker.asset("fw-deny")
    request = _block(asset)
    await broker.publish(request)
    asked = await broker.message(ApprovalRequested, request_key=request.request_key)
    await broker.publish(_decision(asked, "denied", decided_by="bob", comment="not that one"))
    done = await broker.message(ActionCompleted, request_key=request.request_key)
    assert done.status == "denied"
    assert done.results[0].status == "denied"
    assert done.results[0].message == "denied by bob: not that one"
    assert broker.messages(ActionStarted, request_key=request.request_key) == []
    run = await broker.run(asked.action_run_id)
    assert (run["status"], run["decided_by"], run["attempts"]) == ("denied", "bob", [])


async def test_an_expired_approval_ends_the_run_expired(broker: Any) -> None:
    asset = await broker.asset("fw-expire")
    request = _block(asset)
    await broker.publish(request)
    asked = await broker.message(ApprovalRequested, request_key=request.request_key)
    await broker.publish(_decision(asked, "expired", decided_by="approvals"))
    done = await broker.message(ActionCompleted, request_key=request.request_key)
    assert done.status == "expired"


async def _handled(broker: Any, pool: Any, message_id: str) -> bool:
    found = await pool.fetchval(
        "SELECT 1 FROM broker.inbox WHERE consumer = 'broker.requests' AND message_id = $1",
        message_id,
    )
    return bool(found)


async def test_a_decision_on_another_fingerprint_runs_nothing(broker: Any, pool: Any) -> None:
    asset = await broker.asset("fw-other")
    request = _block(asset)
    await broker.publish(request)
    asked = await broker.message(ApprovalRequested, request_key=request.request_key)
    other = hashlib.sha256(b"block ip on another asset").hexdigest()
    sent = await broker.publish(_decision(asked, "approved", fingerprint=other))
    await broker.eventually(lambda: _handled(broker, pool, sent.id))
    run = await broker.run(asked.action_run_id)
    assert run["status"] == "pending_approval"
    assert run["decided_by"] is None


async def test_an_exempt_action_and_an_investigation_run_without_approval(broker: Any) -> None:
    asset = await broker.asset("fw-exempt", approval_policy={"exempt": ["block ip"]})
    request = _block(asset)
    await broker.publish(request)
    done = await broker.message(ActionCompleted, request_key=request.request_key)
    assert done.status == "success"
    assert broker.messages(ApprovalRequested, request_key=request.request_key) == []
    gated = await broker.asset("fw-lookups", approval_policy={"actions": ["lookup ip"]})
    lookup = ActionRequested(
        request_key=f"test:{uuid4()}",
        action="lookup ip",
        target=ActionTarget(asset=gated["name"]),
        params={"ip": "192.0.2.1"},
        requested_by="tests",
    )
    await broker.publish(lookup)
    asked = await broker.message(ApprovalRequested, request_key=lookup.request_key)
    assert UUID(str(asked.action_run_id))


async def test_runs_pending_approval_go_on_after_the_broker_restarted(broker: Any) -> None:
    asset = await broker.asset("fw-restart")
    request = _block(asset)
    await broker.publish(request)
    asked = await broker.message(ApprovalRequested, request_key=request.request_key)
    await broker.restart()
    assert (await broker.run(asked.action_run_id))["status"] == "pending_approval"
    await broker.publish(_decision(asked, "approved"))
    done = await broker.message(ActionCompleted, request_key=request.request_key)
    assert done.status == "success"
