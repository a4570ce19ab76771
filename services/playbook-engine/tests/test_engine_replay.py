"""Deterministic replay as pure logic: a pass over a history, without database or bus."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from rampart.engine.sandbox._replay import replay
from rampart.engine.sandbox.protocol import Replayed
from rampart.engine.steps import Step, command_of
from rampart.sdk.playbook import ActionFailed, Context, Event, Playbook, playbook

EVENT = {
    "id": str(uuid.uuid4()),
    "name": "replay",
    "severity": "high",
    "labels": ["x"],
    "artifacts": [
        {"cef": {"sourceAddress": "192.0.2.1", "destinationAddress": "192.0.2.2"}},
        {"cef": {"sourceAddress": "192.0.2.1", "sourceProcessId": 7}},
    ],
}
OK = {"status": "success", "results": [{"asset": "a", "status": "success", "summary": {}}]}


def run_pass(pb: Playbook, history: list[Step]) -> Replayed:
    return replay(
        pb,
        run_id=uuid.uuid4(),
        event=EVENT,
        history=history,
        max_steps=100,
        lookup=lambda what, args: ["fw-1", "fw-2"],
        filename="<test>",
    )


def step(seq: int, kind: str, command: dict[str, Any], result: Any = None) -> Step:
    return Step(seq=seq, command=command_of(kind, command), result=result)


class Driver:
    """Plays the engine: keeps the history, answers steps in a chosen order."""

    def __init__(self, pb: Playbook) -> None:
        self.pb = pb
        self.history: list[Step] = []
        self.order = 0

    def step(self) -> Replayed:
        last = run_pass(self.pb, self.history)
        self.history.extend(last.commands)
        return last

    def answer(self, seq: int, result: dict[str, Any] = OK) -> Replayed:
        entry = self.history[seq - 1]
        assert not entry.command.immediate
        assert entry.order is None
        self.history[seq - 1] = entry.model_copy(update={"result": result, "order": self.order})
        self.order += 1
        return self.step()


@playbook(labels=["x"])
async def fan_out(ctx: Context, event: Event) -> list[str]:
    async def branch(ip: str) -> str:
        await ctx.act("lookup ip", asset="intel", ip=ip)
        await ctx.act("block ip", asset="fw", ip=ip)
        return ip

    return list(await asyncio.gather(*(branch(ip) for ip in event.values("ip"))))


def test_parallel_branches_replay_in_the_order_results_arrived() -> None:
    driver = Driver(fan_out)
    first = driver.step()
    assert [(c.seq, c.command.body()["params"]["ip"]) for c in first.commands] == [
        (1, "192.0.2.1"),
        (2, "192.0.2.2"),
    ]
    # the second branch's lookup answers first: its block is step 3
    third = driver.answer(2)
    assert [
        (c.seq, c.command.body()["action"], c.command.body()["params"]["ip"])
        for c in third.commands
    ] == [(3, "block ip", "192.0.2.2")]
    fourth = driver.answer(1)
    assert [(c.seq, c.command.body()["params"]["ip"]) for c in fourth.commands] == [
        (4, "192.0.2.1")
    ]
    driver.answer(4)
    done = driver.answer(3)
    assert done.outcome == "completed"
    assert done.value == ["192.0.2.1", "192.0.2.2"]
    # a replay of the whole history issues nothing new and ends the same way
    again = run_pass(fan_out, driver.history)
    assert again == Replayed(outcome="completed", value=["192.0.2.1", "192.0.2.2"], commands=[])


@playbook(labels=["x"])
async def records_once(ctx: Context, event: Event) -> dict[str, Any]:
    ctx.log("hello")
    stamp, ident = ctx.now(), ctx.uuid()
    firewalls = await ctx.assets(tag="perimeter")
    await ctx.act("lookup ip", asset="intel", ip="192.0.2.1")
    return {"stamp": stamp.isoformat(), "id": str(ident), "fw": firewalls}


def test_time_ids_logs_and_lookups_are_recorded_once_and_replayed() -> None:
    driver = Driver(records_once)
    first = driver.step()
    assert [c.kind for c in first.commands] == ["log", "now", "uuid", "assets", "act"]
    done = driver.answer(5)
    assert done.commands == []
    assert done.value["stamp"] == driver.history[1].result
    assert done.value["id"] == driver.history[2].result
    assert done.value["fw"] == ["fw-1", "fw-2"]


@playbook(labels=["x"])
async def swallows(ctx: Context, event: Event) -> str:
    try:
        await ctx.act("lookup ip", asset="intel", ip="192.0.2.99")
    except Exception:
        return "swallowed"
    return "not reached"


def test_an_except_exception_cannot_hide_non_determinism() -> None:
    history = [
        step(
            1,
            "act",
            {"action": "lookup ip", "target": {"asset": "intel"}, "params": {"ip": "192.0.2.1"}},
        )
    ]
    outcome = run_pass(swallows, history)
    assert outcome.outcome == "nondeterministic"
    assert outcome.error is not None
    assert "step 1" in outcome.error
    assert "ip='192.0.2.99'" in outcome.error


@playbook(labels=["x"])
async def short(ctx: Context, event: Event) -> None:
    await ctx.add_note("only this")


def test_a_history_step_the_code_no_longer_issues_is_reported() -> None:
    history = [
        step(1, "change", {"note": "only this"}),
        step(2, "change", {"note": "and this"}),
    ]
    outcome = run_pass(short, history)
    assert outcome.outcome == "nondeterministic"
    assert outcome.error is not None
    assert "step 2 (change(note='and this'))" in outcome.error
    assert "no longer issues it" in outcome.error


@playbook(labels=["x"])
async def grouped(ctx: Context, event: Event) -> int:
    async with asyncio.TaskGroup() as group:
        tasks = [
            group.create_task(ctx.act("lookup ip", asset="intel", ip=ip))
            for ip in event.values("ip")
        ]
    try:
        await ctx.act("terminate process", asset="web", pid=7)
    except ActionFailed as exc:
        return len(tasks) * 10 + len(exc.result.results)
    return len(tasks)


def test_task_groups_work_and_failures_raise_action_failed() -> None:
    driver = Driver(grouped)
    driver.step()
    driver.answer(1)
    third = driver.answer(2)
    assert [c.command.body()["action"] for c in third.commands] == ["terminate process"]
    denied = {"status": "denied", "results": [{"asset": "web", "status": "denied"}]}
    done = driver.answer(3, denied)
    assert done.value == 21
