"""Durable waits: prompts and their answers, sleeps, child playbooks, cancelling, manual runs."""

from __future__ import annotations

import uuid
from typing import Any

from rampart.core.auth import Role, create_token
from rampart.core.envelope import Envelope
from rampart.core.messages import (
    EventUpdated,
    PlaybookPromptRequested,
    PlaybookRunFailed,
)

UNGATED = {"approval_policy": {"kinds": []}}
"""A ``noop`` asset whose actions never wait for its owner's approval."""

ASKS = """
from rampart.sdk import playbook

@playbook(labels=["ask"])
async def asks(ctx, event):
    answer = await ctx.prompt(
        "Isolate web-01?", to="owner-42", choices=["yes", "no"], timeout=60
    )
    if answer == "yes":
        await ctx.act("isolate host", asset="edr", host="web-01")
    late = await ctx.prompt("Anything else?", to="owner-42", timeout=0.3)
    return {"answer": answer, "late": late}
"""


async def test_a_prompt_waits_for_its_recipient_and_times_out_to_none(engine_stack: Any) -> None:
    async with engine_stack({"asks.py": ASKS}, noop_assets={"edr": UNGATED}) as stack:
        async with stack.pool.acquire() as conn:
            _, owner = await create_token(
                conn=conn, name="owner", role=Role.APPROVER, subject="owner-42"
            )
            _, stranger = await create_token(
                conn=conn, name="stranger", role=Role.APPROVER, subject="owner-7"
            )
        await stack.ingest_event(labels=["ask"])

        async def pending() -> list[Any]:
            response = await stack.client.get(
                "/api/v1/prompts", headers={"Authorization": f"Bearer {owner}"}
            )
            assert response.status_code == 200, response.text
            found: list[Any] = response.json()
            return found

        [prompt] = await stack.eventually(pending)
        assert prompt["question"] == "Isolate web-01?"
        [announced] = await stack.captured.wait_for(PlaybookPromptRequested, 1)
        assert (str(announced.prompt_id), announced.recipient) == (prompt["id"], "owner-42")
        assert prompt["choices"] == ["yes", "no"]
        others = await stack.client.get(
            "/api/v1/prompts", headers={"Authorization": f"Bearer {stranger}"}
        )
        assert others.json() == []

        url = f"/api/v1/prompts/{prompt['id']}/answer"
        refused = await stack.client.post(
            url, json={"answer": "yes"}, headers={"Authorization": f"Bearer {stranger}"}
        )
        assert refused.status_code == 404
        wrong = await stack.client.post(
            url, json={"answer": "maybe"}, headers={"Authorization": f"Bearer {owner}"}
        )
        assert wrong.status_code == 422
        assert wrong.json()["field"] == "answer"
        answered = await stack.client.post(
            url, json={"answer": "yes"}, headers={"Authorization": f"Bearer {owner}"}
        )
        assert answered.status_code == 200, answered.text
        assert answered.json()["status"] == "answered"
        again = await stack.client.post(
            url, json={"answer": "no"}, headers={"Authorization": f"Bearer {owner}"}
        )
        assert again.status_code == 409

        [run] = await stack.finished_runs(1)
        assert run["status"] == "completed", run
        assert run["result"] == {"answer": "yes", "late": None}
        [request] = stack.requests()
        assert request.action == "isolate host"
        [action_run] = await stack.action_runs(playbook_run_id=run["id"])
        assert (action_run["action"], action_run["status"]) == ("isolate host", "success")
        assert action_run["params"] == {"host": "web-01"}
        expired = await stack.client.get(
            "/api/v1/prompts", params={"status": "expired"}, headers=stack.headers()
        )
        assert [p["question"] for p in expired.json()] == ["Anything else?"]


SLEEPS_AND_CHILDREN = """
from rampart.sdk import ChildRunFailed, playbook

@playbook(labels=["parent"])
async def parent(ctx, event):
    before = ctx.now()
    await ctx.sleep(0.5)
    slept = (ctx.now() - before).total_seconds()
    child = await ctx.run_playbook("child")
    try:
        await ctx.run_playbook("broken_child")
    except ChildRunFailed as exc:
        failure = exc.reason
    return {"slept": slept >= 0.5, "child": child, "failure": failure}
"""

CHILD = """
from rampart.sdk import playbook

@playbook()
async def child(ctx, event):
    result = await ctx.act("lookup ip", asset="edr", ip="198.51.100.1")
    return {"event": str(event.id), "status": result.status}
"""

BROKEN_CHILD = """
from rampart.sdk import playbook

@playbook()
async def broken_child(ctx, event):
    raise ValueError("no luck")
"""


async def test_sleeps_and_child_playbooks_resume_the_parent(engine_stack: Any) -> None:
    sources = {"parent.py": SLEEPS_AND_CHILDREN, "child.py": CHILD, "broken.py": BROKEN_CHILD}
    async with engine_stack(sources, noop_assets=("edr",)) as stack:
        event_id = await stack.ingest_event(labels=["parent"])
        [run] = await stack.finished_runs(1, playbook="parent")
        assert run["status"] == "completed", run
        assert run["result"]["slept"] is True
        assert run["result"]["child"] == {"event": str(event_id), "status": "success"}
        assert "ValueError: no luck" in run["result"]["failure"]
        children = {r["playbook"]: r for r in await stack.runs(event_id=str(event_id))}
        assert children["child"]["parent_run_id"] == run["id"]
        assert children["child"]["trigger"] == "child"
        assert children["broken_child"]["status"] == "failed"


WAITS = """
from rampart.sdk import playbook

@playbook(labels=["slow"])
async def waits(ctx, event):
    await ctx.act("suspend vm", asset="hv-1", vm="db-01")
    await ctx.add_note("resumed")
"""


async def test_cancel_stops_a_waiting_run_and_a_late_result_changes_nothing(
    engine_stack: Any,
) -> None:
    # suspend vm (a contain action) waits for the owner of hv-1 until the run is cancelled
    async with engine_stack({"waits.py": WAITS}, noop_assets=("hv-1",)) as stack:
        await stack.ingest_event(labels=["slow"])
        [approval] = await stack.approvals(1)
        [run] = await stack.runs()
        assert run["status"] == "waiting"
        cancel = await stack.client.post(
            f"/api/v1/runs/{run['id']}/cancel", headers=stack.headers(Role.ANALYST)
        )
        assert cancel.status_code == 200, cancel.text
        assert cancel.json()["status"] == "cancelled"
        twice = await stack.client.post(
            f"/api/v1/runs/{run['id']}/cancel", headers=stack.headers(Role.ANALYST)
        )
        assert twice.status_code == 409
        await stack.decide(approval, "approve")  # the action runs after all, and its result ...

        async def handled() -> bool:
            return await stack.handled("engine.results") >= 1

        await stack.eventually(handled)  # ... reaches the engine, which leaves the run alone
        [action_run] = await stack.action_runs(playbook_run_id=run["id"])
        assert action_run["status"] == "success"
        detail = await stack.run(run["id"])
        assert detail["status"] == "cancelled"
        assert detail["error"] == "cancelled by test-analyst"
        assert [s["status"] for s in detail["timeline"]] == ["pending"]
        failed = await stack.captured.wait_for(PlaybookRunFailed, 1)
        assert failed[0].reason == "cancelled by test-analyst"


MANUAL = """
from rampart.sdk import playbook

@playbook(name="enrich", description="Look up every address of the event.")
async def enrich(ctx, event):
    for ip in event.values("ip"):
        await ctx.act("lookup ip", tag="intel", ip=ip)
    return event.values("ip")
"""


async def test_an_analyst_runs_a_playbook_on_an_event_by_hand(engine_stack: Any) -> None:
    async with engine_stack(
        {"manual.py": MANUAL}, noop_assets={"intel-1": {"tags": ["intel"]}}
    ) as stack:
        event_id = await stack.ingest_event(
            labels=["nothing-triggers"],
            artifacts=[{"cef": {"sourceAddress": "192.0.2.9", "destinationAddress": "10.0.0.1"}}],
        )
        analyst = stack.headers(Role.ANALYST)
        started = await stack.client.post(
            "/api/v1/runs", json={"playbook": "enrich", "event_id": str(event_id)}, headers=analyst
        )
        assert started.status_code == 201, started.text
        assert started.json()["trigger"] == "manual"
        assert started.json()["requested_by"] == "analyst:test-analyst"
        [run] = await stack.finished_runs(1)
        assert run["result"] == ["192.0.2.9", "10.0.0.1"]
        assert [r.target.tag for r in stack.requests()] == ["intel", "intel"]
        looked_up = await stack.action_runs(playbook_run_id=run["id"])
        assert sorted((r["asset"], r["params"]["ip"]) for r in looked_up) == [
            ("intel-1", "10.0.0.1"),
            ("intel-1", "192.0.2.9"),
        ]

        unknown = await stack.client.post(
            "/api/v1/runs", json={"playbook": "nope", "event_id": str(event_id)}, headers=analyst
        )
        assert unknown.status_code == 422
        assert unknown.json()["field"] == "playbook"
        no_event = await stack.client.post(
            "/api/v1/runs",
            json={"playbook": "enrich", "event_id": str(uuid.uuid4())},
            headers=analyst,
        )
        assert no_event.status_code == 422
        assert no_event.json()["field"] == "event_id"
        approver = await stack.client.post(
            "/api/v1/runs",
            json={"playbook": "enrich", "event_id": str(event_id)},
            headers=stack.headers(Role.APPROVER),
        )
        assert approver.status_code == 403


ON_UPDATE = """
from rampart.sdk import playbook

@playbook(labels=["watch"], on_update=True)
async def follows_updates(ctx, event):
    await ctx.add_note(f"seen as {event.severity}")
"""

ONCE = """
from rampart.sdk import playbook

@playbook(labels=["watch"])
async def once(ctx, event):
    await ctx.add_note("first sight only")
"""


async def test_updates_retrigger_only_playbooks_that_ask_and_not_their_own(
    engine_stack: Any,
) -> None:
    async with engine_stack({"on_update.py": ON_UPDATE, "once.py": ONCE}) as stack:
        event_id = await stack.ingest_event(labels=["watch"])
        await stack.finished_runs(2)
        stack.ingest.events[event_id]["severity"] = "critical"
        update = EventUpdated(event_id=event_id, changes={"severity": "critical"}, updated_by="x")
        own = EventUpdated(
            event_id=event_id,
            changes={"note": "seen"},
            updated_by=f"playbook:follows_updates:{uuid.uuid4()}",
        )
        await stack.bus.publish(
            [Envelope.wrap(update, source="test"), Envelope.wrap(own, source="test")]
        )

        async def both_handled() -> bool:
            return await stack.handled("engine.triggers") >= 3

        await stack.eventually(both_handled)
        runs = await stack.finished_runs(3)
        by_playbook = sorted((r["playbook"], r["trigger"]) for r in runs)
        assert by_playbook == [
            ("follows_updates", "event"),
            ("follows_updates", "update"),
            ("once", "event"),
        ]
        newest = next(r for r in runs if r["trigger"] == "update")
        detail = await stack.run(newest["id"])
        assert detail["timeline"][0]["command"]["note"] == "seen as critical"
