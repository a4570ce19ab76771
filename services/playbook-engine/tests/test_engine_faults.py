"""Playbooks that raise, loop forever, blow their budget or drift fail alone, with the reason."""

from __future__ import annotations

from typing import Any

from rampart.core.messages import ActionRequested, PlaybookRunFailed
from tests.harness import memory_only

RAISES = """
from rampart.sdk import playbook

@playbook(labels=["fault"], priority=1)
async def raises(ctx, event):
    await ctx.act("lookup ip", asset="edr", ip="192.0.2.1")
    raise RuntimeError("the intel feed said no")
"""

BUSY = """
from rampart.sdk import Budget, playbook

@playbook(labels=["fault"], priority=2, budget=Budget(step_seconds=1.0))
async def busy(ctx, event):
    ctx.log("about to spin")
    while True:  # never awaits: only killing the process stops this
        pass
"""

CHATTY = """
from rampart.sdk import Budget, playbook

@playbook(labels=["fault"], priority=3, budget=Budget(steps=20))
async def chatty(ctx, event):
    while True:
        await ctx.add_note("still here")
"""

WELL = """
from rampart.sdk import playbook

@playbook(labels=["fault"], priority=4)
async def well_behaved(ctx, event):
    result = await ctx.act("lookup ip", asset="edr", ip="192.0.2.1")
    return result.status
"""

BAD_PREDICATE = """
from rampart.sdk import playbook

@playbook(labels=["fault"], when=lambda e: e.data["missing"] > 1)
async def bad_predicate(ctx, event):
    await ctx.add_note("should never run")
"""

SPINNING_PREDICATE = """
from rampart.sdk import playbook

def forever(event):
    while True:
        pass

@playbook(labels=["fault"], when=forever)
async def spinning_predicate(ctx, event):
    await ctx.add_note("should never run")
"""


@memory_only
async def test_failing_playbooks_fail_alone_with_their_reason(engine_stack: Any) -> None:
    sources = {
        "raises.py": RAISES,
        "busy.py": BUSY,
        "chatty.py": CHATTY,
        "well.py": WELL,
        "bad_predicate.py": BAD_PREDICATE,
        "spinning_predicate.py": SPINNING_PREDICATE,
    }
    async with engine_stack(sources, noop_assets=("edr",)) as stack:
        playbooks = await stack.client.get("/api/v1/playbooks", headers=stack.headers())
        assert len(playbooks.json()) == 6, playbooks.text
        await stack.ingest_event(labels=["fault"])
        found = await stack.finished_runs(4, timeout=60)
        runs = {r["playbook"]: r for r in found}
        # predicates that raise or spin count as no match
        assert set(runs) == {"raises", "busy", "chatty", "well_behaved"}

        assert runs["well_behaved"]["status"] == "completed"
        assert runs["well_behaved"]["result"] == "success"

        assert runs["raises"]["status"] == "failed"
        assert runs["raises"]["error"].startswith("RuntimeError: the intel feed said no")
        assert "line 7, in raises" in runs["raises"]["error"]

        assert runs["busy"]["status"] == "failed"
        assert "more than 1s without waiting" in runs["busy"]["error"]
        assert "killed" in runs["busy"]["error"]

        assert runs["chatty"]["status"] == "failed"
        assert "budget of 20 steps at step 21" in runs["chatty"]["error"]
        chatty = await stack.run(runs["chatty"]["id"])
        assert len(chatty["timeline"]) == 20

        # run ids are time-ordered: priority decided the order the runs started in
        order = [r["playbook"] for r in sorted(found, key=lambda r: r["id"])]
        assert order == ["raises", "busy", "chatty", "well_behaved"]

        failed = await stack.captured.wait_for(PlaybookRunFailed, 3)
        reasons = {m.playbook: m.reason for m in failed}
        assert "the intel feed said no" in reasons["raises"]
        assert "without waiting" in reasons["busy"]

        # the engine still works after killing a playbook process
        await stack.ingest_event(labels=["fault"])
        await stack.finished_runs(8, timeout=60)


DRIFTING = """
from rampart.sdk import playbook

PASSES = []

@playbook(labels=["drift"])
async def drifting(ctx, event):
    PASSES.append(1)  # module state: differs between passes in one process
    await ctx.act("lookup ip", asset=f"edr-{len(PASSES)}", ip="192.0.2.1")
    await ctx.act("lookup ip", asset="edr", ip="192.0.2.2")
"""


@memory_only
async def test_a_replay_that_issues_another_command_fails_naming_the_step(
    engine_stack: Any,
) -> None:
    async with engine_stack(
        {"drifting.py": DRIFTING}, processes=1, noop_assets=("edr-1",)
    ) as stack:
        await stack.ingest_event(labels=["drift"])
        [run] = await stack.finished_runs(1)
        assert run["status"] == "failed"
        assert run["error"].startswith("non-deterministic playbook: step 1 is")
        assert "asset='edr-1'" in run["error"]
        assert "now issued act('lookup ip', asset='edr-2'" in run["error"]
        requested = await stack.captured.wait_for(ActionRequested)
        assert [r.request_key for r in requested] == [f"{run['id']}:1"]


TIMERS = """
import asyncio
from rampart.sdk import playbook

@playbook(labels=["clock"])
async def wall_clock(ctx, event):
    await asyncio.sleep(5)
"""

STUCK = """
import asyncio
from rampart.sdk import playbook

@playbook(labels=["stuck"])
async def stuck(ctx, event):
    await asyncio.get_running_loop().create_future()
"""


@memory_only
async def test_waits_outside_ctx_are_refused_with_the_durable_alternative(
    engine_stack: Any,
) -> None:
    async with engine_stack({"timers.py": TIMERS, "stuck.py": STUCK}) as stack:
        await stack.ingest_event(labels=["clock", "stuck"])
        runs = {r["playbook"]: r for r in await stack.finished_runs(2)}
        assert "use `await ctx.sleep(...)`" in runs["wall_clock"]["error"]
        assert "waits for something the engine cannot provide" in runs["stuck"]["error"]


DENIED = """
from rampart.sdk import ActionFailed, playbook

@playbook(labels=["deny"])
async def handles_denial(ctx, event):
    try:
        await ctx.act("terminate process", asset="web-01", pid=1)
    except ActionFailed as exc:
        await ctx.add_note(f"not terminated: {exc.status}")
        return exc.status
    return "terminated"
"""


@memory_only
async def test_a_denied_action_raises_action_failed_which_the_playbook_can_catch(
    engine_stack: Any,
) -> None:
    """``terminate process`` waits for the owner of web-01 (a ``contain`` action); the owner
    denies it through the approvals API and the playbook catches the failure."""
    async with engine_stack({"denied.py": DENIED}, noop_assets=("web-01",)) as stack:
        await stack.ingest_event(labels=["deny"])
        [approval] = await stack.approvals(1)
        assert (approval["action"], approval["params"]["pid"]) == ("terminate process", 1)
        await stack.decide(approval, "deny", "that process is ours")
        [run] = await stack.finished_runs(1)
        assert run["status"] == "completed"
        assert run["result"] == "denied"
        [action_run] = await stack.action_runs(playbook_run_id=run["id"])
        assert action_run["status"] == "denied"
        assert action_run["attempt_count"] == 0


@memory_only
async def test_triggers_wait_for_ingest_instead_of_being_lost(engine_stack: Any) -> None:
    async with engine_stack({"well.py": WELL}, noop_assets=("edr",)) as stack:
        stack.ingest.down = True
        event_id = await stack.ingest_event(labels=["fault"])

        async def job_failed() -> Any:
            return await stack.pool.fetchrow(
                "SELECT attempts, last_error FROM engine.trigger_jobs "
                "WHERE event_id = $1 AND last_error IS NOT NULL",
                event_id,
            )

        job = await stack.eventually(job_failed)
        assert "test says it is down" in (job["last_error"] or "")
        seen = await stack.client.get("/api/v1/engine/events", headers=stack.headers())
        assert [e["event_id"] for e in seen.json()] == [str(event_id)]
        assert await stack.runs() == []
        stack.ingest.down = False
        [run] = await stack.finished_runs(1, timeout=30)
        assert run["status"] == "completed"
        left = await stack.pool.fetchval("SELECT count(*) FROM engine.trigger_jobs")
        assert left == 0
