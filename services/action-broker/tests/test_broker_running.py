"""Routing and running: the connector's own queue, failures with their reason, retries of
transient failures with backoff, every attempt stored, the per-asset concurrency limit."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

from rampart.core.messages import (
    ActionCompleted,
    ActionRequested,
    ActionStarted,
    ActionTarget,
)


def _lookup(asset: dict[str, Any], **fields: Any) -> ActionRequested:
    return ActionRequested(
        request_key=f"test:{uuid4()}",
        action="lookup ip",
        target=ActionTarget(asset=asset["name"]),
        params={"ip": "198.51.100.4"},
        requested_by="tests",
        **fields,
    )


async def test_ready_runs_go_to_the_connectors_own_topic(broker: Any) -> None:
    asset = await broker.asset("routed")
    noop_work = await broker.services.capture("action.dispatched.noop", queue="test.noop-work")
    request = _lookup(asset)
    await broker.publish(request)
    await broker.message(ActionCompleted, request_key=request.request_key)

    async def routed() -> list[Any]:
        return [
            d.message for d in noop_work.deliveries if d.message.request_key == request.request_key
        ]

    dispatched = await broker.eventually(routed)
    assert [(d.connector, d.asset) for d in dispatched] == [("noop", asset["name"])]


async def test_a_result_carries_its_plain_values_as_the_summary(broker: Any) -> None:
    """``summary`` is what a playbook branches on (``outcome.summary["verdict"]``): the
    result's top-level text, numbers and booleans; nested values stay in ``data`` only."""
    asset = await broker.asset("summed")
    request = _lookup(asset)
    await broker.publish(request)
    done = await broker.message(ActionCompleted, request_key=request.request_key)
    assert done.status == "success", done
    [result] = done.results
    expected = {"asset": asset["name"], "action": "lookup ip", "token_set": False}
    assert result.summary == expected
    assert result.data[0]["params"] == {"ip": "198.51.100.4"}
    assert result.data[0]["verdict"] is None  # not set: in data, never in the summary
    assert (await broker.run(result.action_run_id))["summary"] == expected


async def test_a_failing_action_fails_once_with_the_connectors_reason(broker: Any) -> None:
    asset = await broker.asset("broken", config={"fail_with": "the product said no"})
    request = _lookup(asset)
    await broker.publish(request)
    done = await broker.message(ActionCompleted, request_key=request.request_key)
    assert done.status == "failed"
    assert done.results[0].status == "failed"
    assert "the product said no" in done.results[0].message
    assert "the product said no" in done.message
    run = await broker.run(done.results[0].action_run_id)
    assert [(a["number"], a["outcome"]) for a in run["attempts"]] == [(1, "failed")]
    assert "the product said no" in run["attempts"][0]["error"]


async def test_an_unavailable_product_is_retried_with_backoff_then_fails(broker: Any) -> None:
    asset = await broker.asset("down", config={"unavailable": True})
    request = _lookup(asset)
    await broker.publish(request)
    done = await broker.message(ActionCompleted, request_key=request.request_key)
    assert done.status == "failed"
    assert "unavailable" in done.results[0].message
    assert "after 3 attempts" in done.results[0].message
    run = await broker.run(done.results[0].action_run_id)
    attempts = run["attempts"]
    assert [a["outcome"] for a in attempts] == ["transient", "transient", "transient"]
    assert all(a["runner"] for a in attempts)
    gaps = [
        datetime.fromisoformat(b["started_at"]) - datetime.fromisoformat(a["ended_at"])
        for a, b in itertools.pairwise(attempts)
    ]
    # backoff 0.05 s, doubling: the second wait is at least 0.1 s
    assert gaps[0] >= timedelta(seconds=0.05)
    assert gaps[1] >= timedelta(seconds=0.1)
    started = broker.messages(ActionStarted, request_key=request.request_key)
    assert sorted(s.attempt for s in started) == [1, 2, 3]


async def test_not_before_holds_a_run_until_its_time(broker: Any) -> None:
    asset = await broker.asset("later")
    at = datetime.now(UTC) + timedelta(seconds=1.5)
    request = _lookup(asset, not_before=at)
    await broker.publish(request)

    async def scheduled() -> Any:
        runs = await broker.runs_of(request.request_key)
        return runs if runs and runs[0]["status"] == "scheduled" else None

    await broker.eventually(scheduled)
    done = await broker.message(ActionCompleted, request_key=request.request_key)
    assert done.status == "success"
    run = await broker.run(done.results[0].action_run_id)
    assert datetime.fromisoformat(run["attempts"][0]["started_at"]) >= at


def _max_overlap(attempts: list[dict[str, Any]]) -> int:
    edges = []
    for a in attempts:
        edges.append((datetime.fromisoformat(a["started_at"]), 1))
        edges.append((datetime.fromisoformat(a["ended_at"]), -1))
    current = peak = 0
    for _, step in sorted(edges, key=lambda e: (e[0], e[1])):
        current += step
        peak = max(peak, current)
    return peak


async def test_the_assets_concurrency_limit_holds(broker: Any) -> None:
    asset = await broker.asset("narrow", config={"delay_seconds": 0.3}, concurrency_limit=2)
    requests = [_lookup(asset) for _ in range(10)]
    for request in requests:
        await broker.publish(request)
    attempts: list[dict[str, Any]] = []
    for request in requests:
        done = await broker.message(ActionCompleted, request_key=request.request_key, timeout=60)
        assert done.status == "success"
        attempts.extend((await broker.run(done.results[0].action_run_id))["attempts"])
    assert len(attempts) == 10
    assert _max_overlap(attempts) == 2
