"""Runs end to end on the in-process bus: triggers, acts, parallel acts, history, timeline.

The actions run through the real action broker on ``noop`` assets."""

from __future__ import annotations

import uuid
from typing import Any

from rampart.core.auth import Role
from rampart.core.envelope import Envelope
from rampart.core.messages import (
    ActionCompleted,
    EventChangeRequested,
    PlaybookRunCompleted,
    PlaybookRunStarted,
)

UNGATED = {"approval_policy": {"kinds": []}}
"""A ``noop`` asset whose actions never wait for its owner's approval."""

THREE_STEPS = """
import asyncio
from rampart.sdk import Context, Event, playbook


@playbook(labels=["malware"])
async def three_steps(ctx: Context, event: Event) -> dict:
    ctx.log("starting", event=event.name)
    dump = await ctx.act("get process dump", asset="web-01", pid=4242)
    firewalls = await ctx.assets(tag="perimeter", action="block ip")
    results = await asyncio.gather(
        *(ctx.act("block ip", asset=fw, ip="203.0.113.7") for fw in firewalls)
    )
    await ctx.add_note(f"blocked on {len(results)} firewalls")
    await ctx.set_status("open")
    return {
        "dump": dump.one().data[0]["params"]["pid"],
        "blocked": [r.results[0].asset for r in results],
    }
"""


async def test_a_matching_event_runs_the_playbook_to_completion(engine_stack: Any) -> None:
    async with engine_stack(
        {"three_steps.py": THREE_STEPS},
        assets={"perimeter": ["fw-1", "fw-2"]},
        noop_assets={"web-01": {}, "fw-1": UNGATED, "fw-2": UNGATED},
    ) as stack:
        event_id = await stack.ingest_event(labels=["malware"])
        await stack.ingest_event(labels=["phishing"])  # no playbook for this one
        [run] = await stack.finished_runs(1)
        assert run["status"] == "completed", run
        assert run["event_id"] == str(event_id)
        assert run["result"] == {"dump": 4242, "blocked": ["fw-1", "fw-2"]}

        # each action requested once, keyed by run and step, and run once by the broker
        keys = sorted(r.request_key for r in stack.requests())
        assert keys == sorted(f"{run['id']}:{seq}" for seq in (2, 4, 5))
        ran = {r["request_key"]: r for r in await stack.action_runs(playbook_run_id=run["id"])}
        assert sorted(ran) == keys
        assert {r["status"] for r in ran.values()} == {"success"}
        assert ran[f"{run['id']}:4"]["asset"] == "fw-1"
        assert ran[f"{run['id']}:5"]["params"] == {"ip": "203.0.113.7"}
        assert ran[f"{run['id']}:2"]["requested_by"].startswith("playbook:three_steps:")
        assert stack.assets.calls == [("perimeter", "block ip")]

        detail = await stack.run(run["id"])
        kinds = [(s["seq"], s["kind"], s["status"]) for s in detail["timeline"]]
        assert kinds == [
            (1, "log", "done"),
            (2, "act", "done"),
            (3, "assets", "done"),
            (4, "act", "done"),
            (5, "act", "done"),
            (6, "change", "done"),
            (7, "change", "done"),
        ]
        assert detail["timeline"][0]["summary"] == "starting"
        assert detail["timeline"][2]["result"] == ["fw-1", "fw-2"]

        found = await stack.captured.wait_for(EventChangeRequested, 2)
        assert {c.note for c in found} == {"blocked on 2 firewalls", None}
        assert {c.status for c in found} == {"open", None}
        assert all(c.event_id == event_id for c in found)
        started = stack.captured.of(PlaybookRunStarted)
        completed = stack.captured.of(PlaybookRunCompleted)
        assert [m.run_id for m in started] == [uuid.UUID(run["id"])]
        assert [(m.run_id, m.steps) for m in completed] == [(uuid.UUID(run["id"]), 7)]


async def test_a_result_delivered_twice_changes_nothing_the_second_time(
    engine_stack: Any,
) -> None:
    """The dump's result comes again while the run waits for the owner of fw-1 to approve
    its block: the same message (a redelivery) and the same result under a new message id."""
    async with engine_stack(
        {"three_steps.py": THREE_STEPS},
        assets={"perimeter": ["fw-1"]},
        noop_assets=("web-01", "fw-1"),
    ) as stack:
        results = await stack.services.capture("action.completed")
        await stack.ingest_event(labels=["malware"])
        [approval] = await stack.approvals(1)  # the dump's result arrived: the block waits
        [delivery] = results.deliveries
        answer = delivery.message_as(ActionCompleted)
        [run] = await stack.runs()
        assert (answer.run_id, answer.action) == (uuid.UUID(run["id"]), "get process dump")
        await stack.bus.publish([delivery.envelope])
        await stack.bus.publish([Envelope.wrap(answer, source="rampart/action-broker")])

        async def all_three_handled() -> bool:
            return await stack.handled("engine.results") >= 3

        await stack.eventually(all_three_handled)
        [run] = await stack.runs()
        assert run["status"] == "waiting"
        assert run["passes"] == 2  # the start, then the one result; the duplicates did nothing
        detail = await stack.run(run["id"])
        assert [(s["seq"], s["status"]) for s in detail["timeline"]] == [
            (1, "done"),
            (2, "done"),
            (3, "done"),
            (4, "pending"),
        ]
        assert detail["timeline"][1]["result"]["status"] == "success"

        await stack.decide(approval, "approve")
        [run] = await stack.finished_runs(1)
        assert run["status"] == "completed", run
        assert run["passes"] == 3
        assert run["result"] == {"dump": 4242, "blocked": ["fw-1"]}
        assert len(await stack.action_runs(playbook_run_id=run["id"])) == 2


async def test_runs_api_filters_and_reports_errors(engine_stack: Any) -> None:
    async with engine_stack({"three_steps.py": THREE_STEPS}, noop_assets=("web-01",)) as stack:
        event_id = await stack.ingest_event(labels=["malware"])
        await stack.finished_runs(1)
        by_event = await stack.runs(event_id=str(event_id))
        assert len(by_event) == 1
        assert await stack.runs(playbook="nope") == []
        assert await stack.runs(status="failed") == []
        bad = await stack.client.get(
            "/api/v1/runs", params={"status": "sleeping"}, headers=stack.headers()
        )
        assert bad.status_code == 422
        assert bad.headers["content-type"] == "application/problem+json"
        assert bad.json()["errors"][0]["field"] == "query.status"
        missing = await stack.client.get(f"/api/v1/runs/{uuid.uuid4()}", headers=stack.headers())
        assert missing.status_code == 404
        forbidden = await stack.client.get("/api/v1/runs", headers=stack.headers(Role.INGEST))
        assert forbidden.status_code == 403
