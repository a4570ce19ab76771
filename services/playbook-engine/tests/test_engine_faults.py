"""Playbooks that raise, loop forever, blow their budget or drift fail alone, with the reason."""

from __future__ import annotations

from typing import Any

from rampart.core.messages import ActionRequested, PlaybookRunFailed

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


NUL_NOTE = """
from rampart.sdk import playbook

@playbook(labels=["unstorable"], priority=1)
async def nul_note(ctx, event):
    await ctx.add_note("dumped\\x00here")
"""

NAN_RESULT = """
from rampart.sdk import playbook

@playbook(labels=["unstorable"], priority=2)
async def nan_result(ctx, event):
    ctx.log("scored")
    return {"score": float("nan")}
"""

NAN_PARAM = """
from rampart.sdk import playbook

@playbook(labels=["unstorable"], priority=3)
async def nan_param(ctx, event):
    ctx.log("scored", score=float("inf"))
"""

ENDLESS_SLEEP = """
from datetime import timedelta
from rampart.sdk import playbook

@playbook(labels=["unstorable"], priority=4)
async def endless_sleep(ctx, event):
    await ctx.sleep(timedelta(days=400_000))
"""

STORABLE = """
from rampart.sdk import playbook

@playbook(labels=["unstorable"], priority=5)
async def storable(ctx, event):
    await ctx.add_note("fine")
    return {"score": 0.5}
"""


async def test_values_that_cannot_be_stored_fail_their_run_where_they_are_made(
    engine_stack: Any,
) -> None:
    """NUL characters, NaN or infinite numbers and absurd durations are refused at the ctx
    call (or return) that produced them: that run fails saying what and where, and the other
    playbooks of the same event run on."""
    sources = {
        "nul_note.py": NUL_NOTE,
        "nan_result.py": NAN_RESULT,
        "nan_param.py": NAN_PARAM,
        "endless_sleep.py": ENDLESS_SLEEP,
        "storable.py": STORABLE,
    }
    async with engine_stack(sources) as stack:
        await stack.ingest_event(labels=["unstorable"])
        runs = {r["playbook"]: r for r in await stack.finished_runs(5, timeout=60)}
        assert {name: run["status"] for name, run in runs.items()} == {
            "nul_note": "failed",
            "nan_result": "failed",
            "nan_param": "failed",
            "endless_sleep": "failed",
            "storable": "completed",
        }
        assert "NUL character" in runs["nul_note"]["error"]
        assert "line 6, in nul_note" in runs["nul_note"]["error"]
        assert "cannot store" in runs["nan_result"]["error"]
        assert "['score'] is nan: numbers must be finite" in runs["nan_result"]["error"]
        assert "['score'] is inf: numbers must be finite" in runs["nan_param"]["error"]
        assert "a sleep of" in runs["endless_sleep"]["error"]
        assert "longer than 366 days" in runs["endless_sleep"]["error"]
        assert runs["storable"]["result"] == {"score": 0.5}


def _poison(monkeypatch: Any, playbook: str, *, only_results: bool) -> None:
    """Make the engine fail, as on bad stored data, whenever it advances runs of ``playbook``
    (only when handing them a result, with ``only_results``)."""
    from rampart.engine.config import SCHEMA
    from rampart.engine.runs import replay, triggers, wakeups

    real = replay.advance

    async def advance(*, conn: Any, engine: Any, run_id: Any, **options: Any) -> Any:
        name = await conn.fetchval(f"SELECT playbook FROM {SCHEMA}.runs WHERE id = $1", run_id)
        if name == playbook and (options.get("result") is not None or not only_results):
            raise ValueError("the stored data is bad")
        return await real(conn=conn, engine=engine, run_id=run_id, **options)

    monkeypatch.setattr(wakeups, "advance", advance)
    monkeypatch.setattr(triggers, "advance", advance)
    monkeypatch.setenv("RAMPART_ENGINE_TIMER_RETRY_S", "0.05")
    monkeypatch.setenv("RAMPART_ENGINE_TIMER_ATTEMPTS", "3")


SLEEPER = """
from rampart.sdk import playbook

@playbook(labels=["timers"], priority={priority})
async def {name}(ctx, event):
    await ctx.sleep({seconds})
    return "woke"
"""


def _sleepers(poisoned_s: float, healthy_s: float) -> dict[str, str]:
    """A ``poisoned`` playbook started first, then a ``healthy`` one; each sleeps, then ends."""
    return {
        "poisoned.py": SLEEPER.format(name="poisoned", priority=1, seconds=poisoned_s),
        "healthy.py": SLEEPER.format(name="healthy", priority=2, seconds=healthy_s),
    }


async def test_a_timer_that_keeps_failing_holds_up_no_other_and_fails_its_run(
    engine_stack: Any, monkeypatch: Any
) -> None:
    """One wake-up loop (one process): the poisoned timer is due first, and the healthy one
    behind it still fires; the poisoned one is tried again later, then fails its run."""
    _poison(monkeypatch, "poisoned", only_results=True)
    async with engine_stack(_sleepers(0.1, 0.5), processes=1) as stack:
        await stack.ingest_event(labels=["timers"])
        runs = {r["playbook"]: r for r in await stack.finished_runs(2, timeout=60)}
        assert runs["healthy"]["status"] == "completed", runs["healthy"]
        assert runs["healthy"]["result"] == "woke"
        assert runs["poisoned"]["status"] == "failed"
        assert runs["poisoned"]["error"] == (
            "the engine failed 3 times to act on the run's result timer: "
            "ValueError: the stored data is bad"
        )


async def test_the_playbooks_of_one_event_begin_independently(
    engine_stack: Any, monkeypatch: Any
) -> None:
    """A run whose first pass the engine cannot carry out does not stop the event's other
    runs from starting: it is retried on its own, then fails with the reason."""
    _poison(monkeypatch, "poisoned", only_results=False)
    async with engine_stack(_sleepers(0, 0)) as stack:
        await stack.ingest_event(labels=["timers"])
        runs = {r["playbook"]: r for r in await stack.finished_runs(2, timeout=60)}
        assert runs["healthy"]["status"] == "completed", runs["healthy"]
        assert runs["poisoned"]["status"] == "failed"
        assert runs["poisoned"]["error"] == (
            "the engine failed 3 times to act on the run's start timer: "
            "ValueError: the stored data is bad"
        )


async def test_a_trigger_job_that_keeps_failing_ends_with_the_reason(
    engine_stack: Any, monkeypatch: Any
) -> None:
    """Starting the playbooks of one event fails on its data each time: the job is tried
    ``RAMPART_ENGINE_TIMER_ATTEMPTS`` times, then ends, shown failed on the engine's events with
    the reason, and is never tried again; the events behind it start their playbooks."""
    from rampart.engine.runs import triggers

    _poison(monkeypatch, "nothing", only_results=False)
    real = triggers._create_runs
    tried: list[Any] = []

    async def create_runs(**options: Any) -> Any:
        if "poison" in options["event"]["labels"]:
            tried.append(options["event"].get("id"))
            raise ValueError("the event's data is bad")
        return await real(**options)

    monkeypatch.setattr(triggers, "_create_runs", create_runs)
    sleeper = {"sleeper.py": SLEEPER.format(name="sleeper", priority=1, seconds=0.5)}
    async with engine_stack(sleeper) as stack:
        poisoned = await stack.ingest_event(labels=["timers", "poison"])
        await stack.ingest_event(labels=["timers"])

        async def failures() -> list[Any] | None:
            seen = await stack.client.get("/api/v1/engine/events", headers=stack.headers())
            assert seen.status_code == 200, seen.text
            found = {e["event_id"]: e["trigger_failures"] for e in seen.json()}
            return found.get(str(poisoned)) or None

        [failure] = await stack.eventually(failures, timeout=30)
        assert failure["kind"] == "event"
        assert failure["attempts"] == 3
        assert failure["error"] == "ValueError: the event's data is bad"
        assert len(tried) == 3
        # a later sleeper's timer fires in the wake-up loop's rounds that also run due jobs
        await stack.ingest_event(labels=["timers"])
        runs = await stack.finished_runs(2, timeout=30)
        assert [r["status"] for r in runs] == ["completed", "completed"]
        assert all(r["event_id"] != str(poisoned) for r in runs)
        assert len(tried) == 3


async def test_a_timer_counts_its_attempts_even_when_failing_its_run_fails(
    engine_stack: Any, monkeypatch: Any
) -> None:
    """At a timer's last attempt the engine fails its run; should that fail too, the attempt
    count is kept (committed first), and the run is failed on a later try."""
    from rampart.engine.runs import wakeups

    _poison(monkeypatch, "poisoned", only_results=True)
    real = wakeups.stop_run
    broken = [True]
    refused: list[Any] = []

    async def stop_run(**options: Any) -> Any:
        if broken[0]:
            refused.append(options["run_id"])
            raise ValueError("the run cannot be stored")
        return await real(**options)

    monkeypatch.setattr(wakeups, "stop_run", stop_run)
    async with engine_stack(_sleepers(0.1, 0.1), processes=1) as stack:
        await stack.ingest_event(labels=["timers"])

        async def counted_past_the_limit() -> Any:
            return await stack.pool.fetchval(
                "SELECT attempts FROM engine.run_timers WHERE attempts > 3 AND kind = 'result'"
            )

        assert await stack.eventually(counted_past_the_limit, timeout=30) > 3
        assert len(refused) >= 2
        broken[0] = False
        runs = {r["playbook"]: r for r in await stack.finished_runs(2, timeout=30)}
        assert runs["healthy"]["result"] == "woke"
        assert runs["poisoned"]["status"] == "failed"
        assert runs["poisoned"]["error"].startswith("the engine failed ")
        assert runs["poisoned"]["error"].endswith(
            " times to act on the run's result timer: ValueError: the stored data is bad"
        )
