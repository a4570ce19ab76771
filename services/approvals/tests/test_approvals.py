"""Approvals: primary owners first, escalation when their SLA passes, one decision wins."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any
from uuid import uuid4

from rampart.core.messages import ApprovalDecided, ApprovalEscalated, ApprovalRequested
from services.approvals.tests._harness import Owner, Rampart, approval_request, eventually


async def _opened(rampart: Rampart, request: ApprovalRequested, owner: Owner) -> dict[str, Any]:
    """Send the broker's request and wait until the owner sees it in their inbox."""
    await rampart.send(request)
    async with rampart.as_owner(owner) as client:

        async def found() -> dict[str, Any] | None:
            mine = await client.get("/api/v1/approvals", params={"mine": "true"})
            assert mine.status_code == 200, mine.text
            hits = [a for a in mine.json() if a["action_run_id"] == str(request.action_run_id)]
            return hits[0] if hits else None

        opened: dict[str, Any] = await eventually(found)
        return opened


async def _decide(rampart: Rampart, owner: Owner, approval_id: str, decision: str) -> Any:
    async with rampart.as_owner(owner) as client:
        return await client.post(
            f"/api/v1/approvals/{approval_id}/decision",
            json={"decision": decision, "comment": f"{owner.name} says {decision}"},
        )


def _decided(rampart: Rampart, approval_id: str) -> list[ApprovalDecided]:
    return [m for m in rampart.messages(ApprovalDecided) if str(m.approval_id) == approval_id]


async def test_the_primary_owner_approves_and_the_decision_carries_the_fingerprint(
    rampart: Rampart,
) -> None:
    alice = await rampart.owner(f"alice-{uuid4().hex[:6]}")
    request = approval_request(("primary", [alice.id], 30))
    opened = await _opened(rampart, request, alice)
    assert opened["stage"] == "primary"
    assert opened["stages"][0]["assignees"] == [str(alice.id)]
    assert opened["params"] == {"pid": 4242}
    answer = await _decide(rampart, alice, opened["id"], "approve")
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "approved"
    assert answer.json()["decided_by"] == str(alice.id)
    decided = await eventually(lambda: _decided(rampart, opened["id"]))
    assert decided[0].decision == "approved"
    assert decided[0].fingerprint == request.fingerprint
    assert decided[0].action_run_id == request.action_run_id


async def test_a_deny_from_an_assignee_ends_the_approval(rampart: Rampart) -> None:
    alice = await rampart.owner(f"alice-{uuid4().hex[:6]}")
    opened = await _opened(rampart, approval_request(("primary", [alice.id], 30)), alice)
    answer = await _decide(rampart, alice, opened["id"], "deny")
    assert answer.json()["status"] == "denied"
    decided = await eventually(lambda: _decided(rampart, opened["id"]))
    assert decided[0].decision == "denied"
    assert decided[0].comment.endswith("says deny")


async def test_someone_not_assigned_is_refused_and_the_attempt_recorded(rampart: Rampart) -> None:
    alice = await rampart.owner(f"alice-{uuid4().hex[:6]}")
    mallory = await rampart.owner(f"mallory-{uuid4().hex[:6]}")
    opened = await _opened(rampart, approval_request(("primary", [alice.id], 30)), alice)
    answer = await _decide(rampart, mallory, opened["id"], "approve")
    assert answer.status_code == 403
    assert answer.headers["content-type"] == "application/problem+json"
    detail = (await rampart.admin.get(f"/api/v1/approvals/{opened['id']}")).json()
    assert detail["status"] == "pending"
    assert detail["decisions"] == []
    assert [h["kind"] for h in detail["history"]] == ["requested", "refused"]
    assert detail["history"][1]["actor"] == str(mallory.id)


async def test_the_requester_never_approves_their_own_request(rampart: Rampart) -> None:
    alice = await rampart.owner(f"alice-{uuid4().hex[:6]}")
    request = approval_request(("primary", [alice.id], 30), requested_by=f"owner:{alice.id}")
    opened = await _opened(rampart, request, alice)
    answer = await _decide(rampart, alice, opened["id"], "approve")
    assert answer.status_code == 403
    assert "requester" in answer.json()["detail"]


async def test_a_breached_primary_stage_escalates_to_the_secondary_owners(
    rampart: Rampart,
) -> None:
    alice = await rampart.owner(f"alice-{uuid4().hex[:6]}")
    bob = await rampart.owner(f"bob-{uuid4().hex[:6]}")
    request = approval_request(("primary", [alice.id], 30), ("secondary", [bob.id], 60))
    opened = await _opened(rampart, request, alice)
    rampart.clock.advance(timedelta(minutes=30))

    def escalated() -> list[ApprovalEscalated]:
        return [
            m for m in rampart.messages(ApprovalEscalated) if str(m.approval_id) == opened["id"]
        ]

    moved = await eventually(escalated)
    assert moved[0].from_stage == "primary"
    assert moved[0].to_stage == "secondary"
    assert moved[0].assignees == [str(bob.id)]
    assert moved[0].due_at == rampart.clock.now() + timedelta(minutes=60)
    detail = (await rampart.admin.get(f"/api/v1/approvals/{opened['id']}")).json()
    assert detail["stage"] == "secondary"
    assert detail["status"] == "pending"
    # the primary owner is no longer asked; the secondary owner decides
    assert (await _decide(rampart, alice, opened["id"], "approve")).status_code == 403
    answer = await _decide(rampart, bob, opened["id"], "approve")
    assert answer.status_code == 200
    assert answer.json()["status"] == "approved"
    kinds = [h["kind"] for h in answer.json()["history"]]
    assert kinds == ["requested", "escalated", "refused", "approve"]


async def test_the_last_stage_breaching_expires_the_approval(rampart: Rampart) -> None:
    alice = await rampart.owner(f"alice-{uuid4().hex[:6]}")
    opened = await _opened(rampart, approval_request(("primary", [alice.id], 5)), alice)
    rampart.clock.advance(timedelta(minutes=5))
    decided = await eventually(lambda: _decided(rampart, opened["id"]))
    assert decided[0].decision == "expired"
    assert decided[0].decided_by is None
    late = await _decide(rampart, alice, opened["id"], "approve")
    assert late.status_code == 409
    assert late.headers["content-type"] == "application/problem+json"
    assert "expired" in late.json()["detail"]


async def test_a_stage_due_later_does_not_escalate_early(rampart: Rampart) -> None:
    alice = await rampart.owner(f"alice-{uuid4().hex[:6]}")
    bob = await rampart.owner(f"bob-{uuid4().hex[:6]}")
    slow = await _opened(
        rampart, approval_request(("primary", [alice.id], 30), ("secondary", [bob.id], 30)), alice
    )
    fast = await _opened(rampart, approval_request(("primary", [alice.id], 10)), alice)
    rampart.clock.advance(timedelta(minutes=29, seconds=59))
    # the ten-minute approval expiring is the signal that the clock loop ran past 29:59
    await eventually(lambda: _decided(rampart, fast["id"]))
    detail = (await rampart.admin.get(f"/api/v1/approvals/{slow['id']}")).json()
    assert detail["stage"] == "primary"
    assert detail["status"] == "pending"


async def test_a_group_assignee_is_expanded_to_its_members(rampart: Rampart) -> None:
    alice = await rampart.owner(f"alice-{uuid4().hex[:6]}")
    carol = await rampart.owner(f"carol-{uuid4().hex[:6]}")
    team = await rampart.group(f"web-team-{uuid4().hex[:6]}", [alice, carol])
    opened = await _opened(rampart, approval_request(("primary", [team], 30)), carol)
    assert sorted(opened["stages"][0]["assignees"]) == sorted([str(alice.id), str(carol.id)])
    answer = await _decide(rampart, carol, opened["id"], "approve")
    assert answer.json()["status"] == "approved"


async def test_two_of_two_approvals_are_needed_when_the_policy_asks(rampart: Rampart) -> None:
    alice = await rampart.owner(f"alice-{uuid4().hex[:6]}")
    carol = await rampart.owner(f"carol-{uuid4().hex[:6]}")
    request = approval_request(("primary", [alice.id, carol.id], 30), required=2)
    opened = await _opened(rampart, request, alice)
    first = await _decide(rampart, alice, opened["id"], "approve")
    assert first.json()["status"] == "pending"
    again = await _decide(rampart, alice, opened["id"], "approve")
    assert again.status_code == 409
    second = await _decide(rampart, carol, opened["id"], "approve")
    assert second.json()["status"] == "approved"


async def test_two_concurrent_approvals_where_one_is_needed_one_wins(rampart: Rampart) -> None:
    alice = await rampart.owner(f"alice-{uuid4().hex[:6]}")
    carol = await rampart.owner(f"carol-{uuid4().hex[:6]}")
    opened = await _opened(rampart, approval_request(("primary", [alice.id, carol.id], 30)), alice)
    answers = await asyncio.gather(
        _decide(rampart, alice, opened["id"], "approve"),
        _decide(rampart, carol, opened["id"], "approve"),
    )
    assert sorted(a.status_code for a in answers) == [200, 409]
    decided = await eventually(lambda: _decided(rampart, opened["id"]))
    detail = (await rampart.admin.get(f"/api/v1/approvals/{opened['id']}")).json()
    assert len(detail["decisions"]) == 1
    assert len(decided) == 1


async def test_a_request_delivered_twice_opens_one_approval(rampart: Rampart) -> None:
    alice = await rampart.owner(f"alice-{uuid4().hex[:6]}")
    request = approval_request(("primary", [alice.id], 30))
    await rampart.send(request)
    opened = await _opened(rampart, request, alice)
    found = (
        await rampart.admin.get("/api/v1/approvals", params={"asset": "web-01", "limit": 500})
    ).json()
    assert [a["id"] for a in found if a["action_run_id"] == str(request.action_run_id)] == [
        opened["id"]
    ]


async def test_bad_requests_get_problem_details(rampart: Rampart) -> None:
    alice = await rampart.owner(f"alice-{uuid4().hex[:6]}")
    missing = str(uuid4())
    unknown = await _decide(rampart, alice, missing, "approve")
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/problem+json"
    assert missing in unknown.json()["detail"]
    unseen = await rampart.admin.get(f"/api/v1/approvals/{missing}")
    assert unseen.status_code == 404
    assert unseen.headers["content-type"] == "application/problem+json"
    async with rampart.as_owner(alice) as client:
        bad = await client.post(f"/api/v1/approvals/{uuid4()}/decision", json={"decision": "maybe"})
        assert bad.status_code == 422
        assert bad.json()["errors"][0]["field"].endswith("decision")
    not_owner = await rampart.admin.get("/api/v1/approvals", params={"mine": "true"})
    assert not_owner.status_code == 422
    assert not_owner.json()["errors"][0]["field"] == "mine"
    stage = await rampart.admin.get("/api/v1/approvals", params={"stage": "tertiary"})
    assert stage.status_code == 422
    assert stage.headers["content-type"] == "application/problem+json"
    assert stage.json()["errors"][0]["field"].endswith("stage")


async def test_an_assignee_delegates_and_the_delegate_decides(rampart: Rampart) -> None:
    alice = await rampart.owner(f"alice-{uuid4().hex[:6]}")
    dave = await rampart.owner(f"dave-{uuid4().hex[:6]}")
    opened = await _opened(rampart, approval_request(("primary", [alice.id], 30)), alice)
    async with rampart.as_owner(alice) as client:
        handed = await client.post(
            f"/api/v1/approvals/{opened['id']}/delegate",
            json={"to": str(dave.id), "comment": "on leave"},
        )
    assert handed.status_code == 200, handed.text
    assert handed.json()["stages"][0]["assignees"] == [str(dave.id)]
    assert handed.json()["history"][-1]["kind"] == "delegated"
    assert handed.json()["history"][-1]["actor"] == str(alice.id)
    assert (await _decide(rampart, alice, opened["id"], "approve")).status_code == 403
    answer = await _decide(rampart, dave, opened["id"], "approve")
    assert answer.json()["status"] == "approved"


async def test_only_an_assignee_delegates_and_only_to_an_owner(rampart: Rampart) -> None:
    alice = await rampart.owner(f"alice-{uuid4().hex[:6]}")
    mallory = await rampart.owner(f"mallory-{uuid4().hex[:6]}")
    opened = await _opened(rampart, approval_request(("primary", [alice.id], 30)), alice)
    async with rampart.as_owner(mallory) as client:
        stolen = await client.post(
            f"/api/v1/approvals/{opened['id']}/delegate", json={"to": str(mallory.id)}
        )
    assert stolen.status_code == 403
    async with rampart.as_owner(alice) as client:
        nobody = await client.post(
            f"/api/v1/approvals/{opened['id']}/delegate", json={"to": str(uuid4())}
        )
    assert nobody.status_code == 422
    assert nobody.json()["errors"][0]["field"] == "to"
