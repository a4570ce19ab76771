"""RabbitMQ restarted with runs in flight: nothing is lost and nothing runs twice.

The services run on a RabbitMQ node of the test's own (``tests/_rabbit_node.py``), so its
broker can be stopped and started while the machine's keeps serving everyone else.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from rampart.core.messages import ActionCompleted, ActionRequested, ActionTarget
from tests._rabbit_node import RabbitNode

pytestmark = [
    pytest.mark.rabbitmq,
    pytest.mark.slow,
    pytest.mark.parametrize("bus_kind", ["rabbitmq"], indirect=True),
]

RUNS = 12


@pytest.fixture
def rabbit_node(tmp_path: Path) -> Iterator[RabbitNode]:
    with RabbitNode.started(tmp_path / "rabbit") as node:
        yield node


@pytest.fixture
def amqp_url(rabbit_node: RabbitNode) -> str:
    """The services' bus is the private node, not the machine's."""
    return rabbit_node.url


async def test_runs_in_flight_when_rabbitmq_restarts_each_complete_once(
    broker: Any, rabbit_node: RabbitNode
) -> None:
    asset = await broker.asset(
        "through-restart",
        config={"delay_seconds": 1.5},
        approval_policy={"kinds": []},
        concurrency_limit=RUNS // 2,
    )
    requests = [
        ActionRequested(
            request_key=f"test:{uuid4()}",
            action="lookup ip",
            target=ActionTarget(asset=asset["name"]),
            params={"ip": f"192.0.2.{n}"},
            requested_by="tests",
        )
        for n in range(RUNS)
    ]
    for request in requests:
        await broker.publish(request)

    async def statuses() -> dict[str, str]:
        page = await broker.client.get(
            "/api/v1/action-runs", params={"asset": asset["name"]}, headers=broker.auth()
        )
        return {r["request_key"]: r["status"] for r in page.json()["items"]}

    async def half_running() -> bool:
        found = await statuses()
        return len(found) == RUNS and list(found.values()).count("running") == RUNS // 2

    # half the runs hold the asset's slots, the other half wait queued behind them
    await broker.eventually(half_running, what="half the runs running, half queued")
    await asyncio.to_thread(rabbit_node.stop_app)

    async def first_half_ended() -> bool:
        return list((await statuses()).values()).count("success") >= RUNS // 2

    # the attempts in flight end while the bus is away: their outcome waits in the outbox
    await broker.eventually(first_half_ended, what="the runs in flight ended without a bus")
    await asyncio.to_thread(rabbit_node.start_app)

    def all_completed() -> bool:
        done = {m.request_key for m in broker.messages(ActionCompleted)}
        return done >= {r.request_key for r in requests}

    await broker.eventually(all_completed, timeout=60, what="every request completed")
    completions = [d for d in broker.captured.deliveries if isinstance(d.message, ActionCompleted)]
    # one announcement per request (a redelivery carries the same envelope id)
    assert len({d.envelope.id for d in completions}) == RUNS
    for request in requests:
        [run] = await broker.runs_of(request.request_key)
        detail = await broker.run(run["id"])
        assert detail["status"] == "success", detail
        outcomes = [a["outcome"] for a in detail["attempts"]]
        # one success; under load a lease may lapse while the bus is away, and a retry-safe
        # run is then taken over (the earlier attempt recorded as lost), never ended twice
        assert outcomes.count("success") == 1, detail
        assert outcomes[-1] == "success", detail
        assert set(outcomes[:-1]) <= {"lost"}, detail
        assert detail["data"][0]["params"] == request.params
