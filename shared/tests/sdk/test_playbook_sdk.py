"""The playbook authors' SDK: catalog checks of ``ctx.act``, results, vocabulary, the harness."""

from __future__ import annotations

import subprocess
import sys
import uuid
from datetime import timedelta
from typing import Any

import pytest

from rampart.core import vocabulary
from rampart.sdk.playbook import (
    ActionFailed,
    ActionResult,
    AssetOutcome,
    Budget,
    BudgetExceeded,
    ChildRunFailed,
    Context,
    Event,
    EventStatus,
    InvalidAction,
    Severity,
    check_act,
    playbook,
)
from rampart.sdk.testing import PlaybookHarness

EVENT = {
    "id": str(uuid.uuid4()),
    "name": "sdk",
    "severity": "high",
    "labels": ["x"],
    "status": "open",
    "artifacts": [
        {"cef": {"sourceAddress": "192.0.2.1", "destinationAddress": "192.0.2.2"}},
        {"cef": {"sourceAddress": "192.0.2.1", "sourceProcessId": 7}},
        {"cef": {"requestURL": "http://evil.example/", "sourceUserId": "alice"}},
    ],
}


def call(action: str, **given: Any) -> dict[str, str]:
    target = {k: given.pop(k, None) for k in ("asset", "tag", "product")}
    return check_act(action, step=4, params=given, **target)


def test_a_valid_act_passes_and_any_one_target_kind_is_accepted() -> None:
    assert call("block ip", asset="fw-1", ip="192.0.2.1") == {"asset": "fw-1"}
    assert call("block ip", tag="perimeter", ip="192.0.2.0/24") == {"tag": "perimeter"}
    assert call("isolate host", product="edr", host="web-01") == {"product": "edr"}


def test_an_unknown_action_names_the_step_and_the_action() -> None:
    with pytest.raises(InvalidAction, match=r"^step 4: .*'blok ip' is not an action") as found:
        call("blok ip", asset="fw-1", ip="192.0.2.1")
    assert (found.value.step, found.value.fields) == (4, ("action",))


def test_a_misspelt_or_missing_parameter_names_the_fields() -> None:
    with pytest.raises(InvalidAction) as misspelt:
        call("block ip", asset="fw-1", adress="192.0.2.1")
    assert misspelt.value.fields == ("params.ip", "params.adress")
    assert "params.ip: Field required" in str(misspelt.value)
    with pytest.raises(InvalidAction) as invalid:
        call("lookup ip", asset="intel", ip="not an address")
    assert invalid.value.fields == ("params.ip",)


def test_an_act_needs_exactly_one_target() -> None:
    with pytest.raises(InvalidAction, match="exactly one of asset=, tag= or product=") as none:
        call("block ip", ip="192.0.2.1")
    assert none.value.fields == ("target",)
    with pytest.raises(InvalidAction, match="exactly one"):
        call("block ip", asset="fw-1", tag="perimeter", ip="192.0.2.1")


def test_invalid_action_cannot_be_caught_as_an_exception() -> None:
    assert not issubclass(InvalidAction, Exception)


def test_a_result_has_one_shape_however_many_assets_answered() -> None:
    one = ActionResult(
        "lookup ip", "success", results=(AssetOutcome("intel", "success", {"a": 1}),)
    )
    assert one.one().summary == {"a": 1}
    assert one.by_asset["intel"].summary == {"a": 1}
    two = ActionResult(
        "lookup ip",
        "partial",
        results=(AssetOutcome("i-1", "success"), AssetOutcome("i-2", "failed", message="down")),
    )
    assert two.assets == ["i-1", "i-2"]
    assert two.by_asset["i-2"].message == "down"
    assert [f.asset for f in two.failures] == ["i-2"]
    with pytest.raises(ValueError, match="answered from 2 assets"):
        two.one()
    assert not hasattr(two, "summary")


def test_the_vocabulary_is_the_platforms() -> None:
    from rampart.sdk import Severity as old_import

    assert Severity is vocabulary.Severity is old_import
    assert EventStatus is vocabulary.EventStatus
    event = Event.from_json(EVENT)
    assert event.severity is Severity.HIGH
    assert event.status is EventStatus.OPEN
    assert Severity.CRITICAL > Severity.HIGH >= "high" > Severity.LOW
    assert max(Severity.MEDIUM, Severity.HIGH) is Severity.HIGH
    # the one table of CEF fields: ingest's spelling, and the fields it knows
    assert event.values("url") == ["http://evil.example/"]
    assert event.values("user name") == ["alice"]


def test_event_helpers_and_playbook_names() -> None:
    event = Event.from_json(EVENT)
    assert event.values("ip") == ["192.0.2.1", "192.0.2.2"]
    assert [a.cef["sourceProcessId"] for a in event.artifacts_with("process id")] == [7]

    @playbook(labels=["x"])
    async def short(ctx: Context, event: Event) -> None:
        await ctx.add_note("only this")

    assert short.matches(event)
    assert not short.matches(Event.from_json({**EVENT, "labels": ["y"]}))
    with pytest.raises(TypeError):
        playbook(lambda ctx, event: None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="lower case"):
        playbook(name="Bad Name")(short.func)


@playbook(labels=["x"], budget=Budget(steps=6))
async def everything(ctx: Context, event: Event) -> dict[str, Any]:
    started = ctx.now()
    first = await ctx.prompt("Go?", to="on-call", choices=["yes", "no"])
    second = await ctx.prompt("Really?", to="on-call", timeout=timedelta(minutes=10))
    await ctx.sleep(30)
    vms = await ctx.act("suspend vm", product="hypervisor", vm="db-01")
    try:
        child = await ctx.run_playbook("enrich")
    except ChildRunFailed as exc:
        child = exc.reason
    return {
        "answers": [first, second],
        "waited": (ctx.now() - started).total_seconds(),
        "vms": sorted(vms.by_asset),
        "child": child,
    }


async def test_the_harness_scripts_prompts_time_actions_and_children() -> None:
    harness = PlaybookHarness(everything, assets={"hypervisor": ["hv-1", "hv-2"]})
    harness.answer("yes")
    harness.on_child("enrich", fails="no luck")
    with pytest.raises(BudgetExceeded, match="budget of 6 steps at step 7"):
        await harness.run(EVENT)  # the second now() is step 7

    roomy = PlaybookHarness(
        playbook(name="roomy", budget=Budget(steps=10))(everything.func),
        assets={"hypervisor": ["hv-1", "hv-2"]},
    )
    roomy.answer("yes")
    roomy.on_child("enrich", {"verdict": "clean"})
    value = await roomy.run(Event.from_json(EVENT))
    assert value == {
        "answers": ["yes", None],
        "waited": 600 + 30,
        "vms": ["hv-1", "hv-2"],
        "child": {"verdict": "clean"},
    }
    assert [(p.question, p.answer) for p in roomy.prompts] == [("Go?", "yes"), ("Really?", None)]
    assert [str(a) for a in roomy.acts] == ["act('suspend vm', product='hypervisor', vm='db-01')"]
    assert roomy.children == ["enrich"]


async def test_the_harness_refuses_what_the_engine_would() -> None:
    @playbook(labels=["x"])
    async def careless(ctx: Context, event: Event) -> str:
        try:
            await ctx.act("terminate process", asset="web-01", process=7)
        except Exception:
            return "swallowed"
        return "not reached"

    with pytest.raises(InvalidAction, match=r"step 1: .*params.process"):
        await PlaybookHarness(careless).run(EVENT)

    @playbook(labels=["x"])
    async def chooses(ctx: Context, event: Event) -> str | None:
        return await ctx.prompt("Pick", to="me", choices=["a", "b"])

    picky = PlaybookHarness(chooses)
    picky.answer("c")
    with pytest.raises(ValueError, match="not one of"):
        await picky.run(EVENT)


async def test_a_scripted_failure_raises_action_failed_and_no_asset_fails() -> None:
    @playbook(labels=["x"])
    async def blocks(ctx: Context, event: Event) -> list[str]:
        outcomes = []
        for tag in ("perimeter", "nowhere"):
            try:
                await ctx.act("block ip", tag=tag, ip="192.0.2.1")
                outcomes.append(f"{tag}: ok")
            except ActionFailed as exc:
                outcomes.append(f"{tag}: {exc.status}")
        return outcomes

    harness = PlaybookHarness(blocks, assets={"perimeter": ["fw-1"]})
    assert await harness.run(EVENT) == ["perimeter: ok", "nowhere: failed"]
    harness = PlaybookHarness(blocks, assets={"perimeter": ["fw-1"]})
    harness.on_action("block ip", status="denied")
    assert await harness.run(EVENT) == ["perimeter: denied", "nowhere: failed"]


def test_the_harness_does_not_need_the_engine() -> None:
    code = (
        "import sys, rampart.sdk.testing, rampart.sdk.playbook\n"
        "found = [m for m in sys.modules if m.startswith('rampart.engine')]\n"
        "assert not found, found\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
