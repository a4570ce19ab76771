"""Engine replicas as real ``rampart serve playbook-engine`` processes on RabbitMQ and PostgreSQL.

The test process plays ingest (it publishes ``event.ingested`` and serves the events over
HTTP), the asset registry, and the action broker (a test responder answering every
``action.requested`` with ``action.completed``).
"""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path
from typing import Any

import httpx
import pytest

from rampart.core.envelope import Envelope
from rampart.core.messages import ActionRequested, PlaybookRunCompleted
from tests.harness import eventually

pytestmark = [pytest.mark.slow, pytest.mark.rabbitmq]


def _exactly_once(cluster: Any, run_ids: list[Any], steps: int) -> None:
    """Each step of each run was requested under one key, by one message (relay resends aside)."""
    by_key: dict[str, set[str]] = {}
    for message_id, request in cluster.requests:
        by_key.setdefault(request.request_key, set()).add(message_id)
    expected = {f"{run_id}:{seq}" for run_id in run_ids for seq in range(1, steps + 1)}
    assert set(by_key) == expected
    assert all(len(ids) == 1 for ids in by_key.values()), by_key


async def test_a_killed_engine_leaves_its_run_to_the_next_process(cluster: Any) -> None:
    killed = asyncio.Event()
    first = cluster.start_engine()
    await first.wait_ready()

    def answer_then_kill(request: ActionRequested) -> bool:
        if request.request_key.endswith(":1") and not killed.is_set():
            # the answer goes out, then the engine dies in the middle of the pass it starts
            async def kill_soon() -> None:
                await asyncio.sleep(0.8)
                assert first.signal(signal.SIGKILL) == -signal.SIGKILL
                killed.set()

            asyncio.get_running_loop().create_task(kill_soon())
        return True

    cluster.on_request = answer_then_kill
    await cluster.bus.publish(
        [Envelope.wrap(cluster.services.event(labels=["three"], data={"pause": 3}), source="t")]
    )
    await asyncio.wait_for(killed.wait(), 60)
    runs = await cluster.runs()
    assert [r["status"] for r in runs] == ["waiting"]  # the pass after step 1 never committed
    second = cluster.start_engine()
    await second.wait_ready()
    [run] = await cluster.wait_completed(1)
    assert json.loads(run["result"]) == ["success", "success", "success"]
    _exactly_once(cluster, [run["id"]], 3)
    assert cluster.services.unauthorized == 0


async def test_two_replicas_complete_every_run_once(cluster: Any) -> None:
    """Every result also arrives twice; a spinning playbook fails alone."""
    cluster.duplicate = True
    engines = [cluster.start_engine(), cluster.start_engine()]
    await asyncio.gather(*(e.wait_ready() for e in engines))
    events = [cluster.services.event(labels=["three"]) for _ in range(12)]
    spinning = cluster.services.event(labels=["spin"])
    await cluster.bus.publish([Envelope.wrap(e, source="t") for e in [*events[:6], spinning]])
    await cluster.bus.publish([Envelope.wrap(e, source="t") for e in events[6:]])
    runs = await cluster.wait_completed(len(events))
    assert len(runs) == len(events)
    _exactly_once(cluster, [r["id"] for r in runs], 3)
    # the start and one pass per result: the duplicates did nothing
    assert {r["passes"] for r in runs} == {4}
    completed = await cluster.completed.wait_for(PlaybookRunCompleted, len(events), timeout=5)
    assert sorted(str(m.run_id) for m in completed) == sorted(str(r["id"]) for r in runs)
    cluster.counted = ("spin",)

    async def spun_failed() -> dict[str, Any] | None:
        [spun] = await cluster.runs() or [None]
        return spun if spun is not None and spun["status"] == "failed" else None

    spun = await eventually(spun_failed, timeout=10, what="the spinning run failed")
    assert "ran for more than 1s without waiting" in spun["error"]
    # both replicas advanced runs
    async with httpx.AsyncClient(timeout=5) as client:
        for engine in engines:
            metrics = (await client.get(f"{engine.url}/metrics")).text
            handled = [
                line
                for line in metrics.splitlines()
                if line.startswith("rampart_messages_handled_total")
                and 'queue="engine.results"' in line
                and 'outcome="ok"' in line
            ]
            assert handled, metrics[-2000:]
            assert float(handled[0].rsplit(" ", 1)[1]) > 0


EXAMPLES = Path(__file__).resolve().parents[4] / "playbooks"


async def test_the_three_examples_run_end_to_end_distributed(cluster: Any) -> None:
    for example in EXAMPLES.glob("*.py"):
        (cluster.folder / example.name).write_text(example.read_text())
    cluster.summary = lambda r: {"verdict": "malicious"} if r.action.startswith("lookup") else {}
    engine = cluster.start_engine()
    await engine.wait_ready()
    events = [
        cluster.services.event(
            labels=["malware"],
            artifacts=[
                {
                    "cef": {
                        "deviceHostName": "web-01",
                        "sourceProcessId": 77,
                        "destinationAddress": "203.0.113.66",
                    }
                }
            ],
        ),
        cluster.services.event(
            labels=["phishing"],
            artifacts=[
                {
                    "cef": {"requestUrl": "http://evil.example/x"},
                    "contains": {"requestUrl": ["url"]},
                },
                {"cef": {"sourceDnsDomain": "evil.example"}},
            ],
        ),
        cluster.services.event(
            labels=["brute-force"],
            artifacts=[{"cef": {"destinationUserName": "bob", "sourceAddress": "198.51.100.9"}}],
        ),
    ]
    await cluster.bus.publish([Envelope.wrap(e, source="t") for e in events])
    runs = {r["playbook"]: r for r in await cluster.wait_completed(3)}
    assert set(runs) == {"contain_malware_linux", "phishing_triage", "brute_force_response"}
    requested = sorted(
        (r.action, json.dumps(r.target.model_dump(exclude_none=True))) for _, r in cluster.requests
    )
    assert requested == sorted(
        [
            ("get process dump", '{"asset": "web-01"}'),
            ("terminate process", '{"asset": "web-01"}'),
            ("block ip", '{"asset": "perimeter-1"}'),
            ("block ip", '{"asset": "perimeter-2"}'),
            ("lookup url", '{"tag": "reputation"}'),
            ("lookup domain", '{"tag": "reputation"}'),
            ("block domain", '{"tag": "mail-gateway"}'),
            ("send message", '{"tag": "notify"}'),
            ("disable user", '{"tag": "directory"}'),
            ("block ip", '{"tag": "perimeter"}'),
        ]
    )
    assert json.loads(runs["brute_force_response"]["result"])["disabled"] == ["bob"]
