"""``ctx.act`` in the engine: checked against the catalog when issued, and aimed at a product."""

from __future__ import annotations

from typing import Any

import pytest

from rampart.core.messages import ActionRequested, PlaybookRunFailed

TYPO = """
from rampart.sdk.playbook import playbook

@playbook(labels=["typo"])
async def typo(ctx, event):
    await ctx.act("lookup ip", asset="intel", ip="192.0.2.1")
    try:
        await ctx.act("block ip", asset="fw-1", adress="192.0.2.1")
    except Exception:
        return "swallowed"
    return "not reached"
"""

UNKNOWN = """
from rampart.sdk.playbook import playbook

@playbook(labels=["typo"])
async def unknown_verb(ctx, event):
    await ctx.act("block ipaddress", asset="fw-1", ip="192.0.2.1")
"""

PRODUCT = """
from rampart.sdk.playbook import playbook

@playbook(labels=["product"])
async def by_product(ctx, event):
    result = await ctx.act("lookup ip", product="Rampart test", ip="192.0.2.9")
    return {name: outcome.data[0]["params"]["ip"] for name, outcome in result.by_asset.items()}
"""


async def test_an_invalid_act_fails_the_run_at_once_naming_the_step_and_field(
    engine_stack: Any,
) -> None:
    async with engine_stack(
        {"typo.py": TYPO, "unknown.py": UNKNOWN}, noop_assets=("intel",)
    ) as stack:
        await stack.ingest_event(labels=["typo"])
        runs = {r["playbook"]: r for r in await stack.finished_runs(2)}
        typo = runs["typo"]
        assert typo["status"] == "failed"
        assert typo["error"].startswith(
            "step 2: act('block ip', asset='fw-1', adress='192.0.2.1') does not match"
        )
        assert "params.ip: Field required" in typo["error"]
        assert "params.adress: Extra inputs are not permitted" in typo["error"]
        unknown = runs["unknown_verb"]
        assert unknown["status"] == "failed"
        assert "step 1: " in unknown["error"]
        assert "'block ipaddress' is not an action of the catalog" in unknown["error"]
        # nothing of the invalid step was sent: only the typo run's valid first step
        requested = await stack.captured.wait_for(ActionRequested)
        assert [r.request_key for r in requested] == [f"{typo['id']}:1"]
        detail = await stack.run(typo["id"])
        assert [s["seq"] for s in detail["timeline"]] == [1]
        failed = await stack.captured.wait_for(PlaybookRunFailed, 2)
        assert {m.playbook for m in failed} == {"typo", "unknown_verb"}


async def test_an_act_can_target_every_asset_of_a_product(engine_stack: Any) -> None:
    """Through the real broker: the product's two noop assets each run the action."""
    async with engine_stack({"product.py": PRODUCT}, noop_assets=("edr-a", "edr-b")) as stack:
        await stack.ingest_event(labels=["product"])
        [run] = await stack.finished_runs(1)
        [request] = await stack.captured.wait_for(ActionRequested)
        assert request.target.model_dump(exclude_none=True) == {"product": "Rampart test"}
        assert request.params == {"ip": "192.0.2.9"}
        assert run["status"] == "completed", run
        assert run["result"] == {"edr-a": "192.0.2.9", "edr-b": "192.0.2.9"}


SETTLED = """
from rampart.sdk.playbook import ActionFailed, playbook

@playbook(labels=["settle"])
async def tell_the_soc(ctx, event):
    try:
        result = await ctx.act(
            "send message", asset="mail-hangs", to=["soc@example.com"], body="contained"
        )
    except ActionFailed as failed:
        return {"status": failed.status, "message": failed.result.one().message}
    return {"status": result.status, "message": result.one().message}
"""


async def test_a_person_settling_an_unknown_action_wakes_the_playbook_with_that_outcome(
    engine_stack: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real broker runs ``send message`` on a noop asset that hangs: the attempt times
    out and, not being safe to repeat, ends ``unknown``; the playbook keeps waiting until an
    analyst resolves the run, then goes on with the analyst's outcome."""
    for name, value in {
        "RAMPART_BROKER_ACTION_TIMEOUT_S": "0.3",
        "RAMPART_BROKER_RECONCILE_INTERVAL_S": "0.1",
    }.items():
        monkeypatch.setenv(name, value)
    async with engine_stack({"settled.py": SETTLED}, noop_assets=("intel",)) as stack:
        owner = await stack.client.post(
            "/api/v1/owners", json={"name": "mail-owner"}, headers=stack.headers()
        )
        made = await stack.client.post(
            "/api/v1/assets",
            json={
                "name": "mail-hangs",
                "connector": "noop",
                "config": {"hang": True},
                "primary_owners": [owner.json()["id"]],
                "approval_policy": {"kinds": []},
            },
            headers=stack.headers(),
        )
        assert made.status_code == 201, made.text
        await stack.ingest_event(labels=["settle"])

        async def unknown_run() -> dict[str, Any] | None:
            page = await stack.client.get(
                "/api/v1/action-runs", params={"status": "unknown"}, headers=stack.headers()
            )
            items: list[dict[str, Any]] = page.json()["items"]
            return items[0] if items else None

        lost = await stack.eventually(unknown_run, what="the send message run ends unknown")
        [waiting] = await stack.runs()
        assert waiting["status"] == "waiting", waiting
        resolved = await stack.client.post(
            f"/api/v1/action-runs/{lost['id']}/resolve",
            json={"status": "success", "comment": "the mail log shows it went out"},
            headers=stack.headers(),
        )
        assert resolved.status_code == 200, resolved.text
        [run] = await stack.finished_runs(1)
        assert run["status"] == "completed", run
        assert run["result"]["status"] == "success"
        assert (
            "resolved as success by test-admin: the mail log shows it went out"
            in (run["result"]["message"])
        )
