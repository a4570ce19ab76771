"""Connector runners as their own processes (``rampart serve connector-runner``), SIGKILLed
mid-action: a retry-safe run is taken over by another runner and completes once; a run that
is not safe to repeat ends ``unknown`` with the evidence. On RabbitMQ, real processes."""

from __future__ import annotations

import signal
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from rampart.core.messages import ActionCompleted, ActionRequested, ActionTarget
from tests._processes import RampartProcess, free_port, process_env

pytestmark = pytest.mark.slow

LEASE_S = "2"


@pytest.fixture
def bus_kind() -> str:
    return "rabbitmq"


@pytest.fixture
def embedded_runners() -> bool:
    return False


@pytest.fixture
def broker_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    env = {
        "RAMPART_BROKER_RECONCILE_INTERVAL_S": "0.2",
        "RAMPART_BROKER_LEASE_S": LEASE_S,
        "RAMPART_BROKER_BACKOFF_S": "0.05",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def _runner(broker: Any, amqp_url: str, tmp_path: Path, name: str) -> RampartProcess:
    settings = broker.settings
    port = free_port()
    env = process_env(
        {
            "RAMPART_DATABASE_URL": settings.database_url.get_secret_value(),
            "RAMPART_AMQP_URL": amqp_url,
            "RAMPART_BUS_NAMESPACE": settings.bus_namespace,
            "RAMPART_MASTER_KEY": settings.master_key.get_secret_value(),
            "RAMPART_ASSETS_URL": settings.public_url,
            "RAMPART_SERVICE_TOKEN": settings.service_token.get_secret_value(),
            "RAMPART_BROKER_LEASE_S": LEASE_S,
            "RAMPART_BROKER_RECONCILE_INTERVAL_S": "0.2",
            "RAMPART_BROKER_RUNNER_NAME": name,
        }
    )
    return RampartProcess(
        ["serve", "connector-runner", "--connectors", "noop", "--port", str(port)],
        env,
        tmp_path / f"{name}.log",
        port,
    )


async def test_a_killed_runners_safe_run_is_taken_over_and_its_unsafe_run_ends_unknown(
    broker: Any, amqp_url: str, tmp_path: Path
) -> None:
    slow = await broker.asset("slow", config={"delay_seconds": 4}, approval_policy={"kinds": []})
    broker.services.delete_at_end("connector.noop")
    first = _runner(broker, amqp_url, tmp_path, "runner-a")
    first.start()
    second = _runner(broker, amqp_url, tmp_path, "runner-b")
    try:
        await first.wait_ready()
        safe = ActionRequested(
            request_key=f"test:{uuid4()}",
            action="lookup ip",
            target=ActionTarget(asset=slow["name"]),
            params={"ip": "192.0.2.50"},
            requested_by="tests",
        )
        unsafe = ActionRequested(
            request_key=f"test:{uuid4()}",
            action="send message",
            target=ActionTarget(asset=slow["name"]),
            params={"to": ["soc@example.com"], "body": "once"},
            requested_by="tests",
        )
        await broker.publish(safe)
        await broker.publish(unsafe)

        async def both_running() -> bool:
            runs = [
                *(await broker.runs_of(safe.request_key)),
                *(await broker.runs_of(unsafe.request_key)),
            ]
            return len(runs) == 2 and all(r["status"] == "running" for r in runs)

        await broker.eventually(both_running)
        assert first.signal(signal.SIGKILL) == -signal.SIGKILL
        second.start()
        await second.wait_ready()

        done = await broker.message(ActionCompleted, request_key=safe.request_key, timeout=40)
        assert done.status == "success"
        run = await broker.run(done.results[0].action_run_id)
        assert [(a["runner"], a["outcome"]) for a in run["attempts"]] == [
            ("runner-a", "lost"),
            ("runner-b", "success"),
        ]
        assert "runner-a stopped renewing its lease" in run["attempts"][0]["error"]

        unsafe_run = await broker.ended_unknown(unsafe.request_key, timeout=40)
        assert "runner runner-a stopped renewing its lease" in unsafe_run["message"]
        assert "not safe to run again" in unsafe_run["message"]
        assert [(a["runner"], a["outcome"]) for a in unsafe_run["attempts"]] == [
            ("runner-a", "lost")
        ]
        # open until a person settles it: nothing told its requester it ended
        assert broker.messages(ActionCompleted, request_key=unsafe.request_key) == []
        assert len(broker.messages(ActionCompleted, request_key=safe.request_key)) == 1
    finally:
        first.stop()
        second.stop()


async def test_an_assets_concurrency_limit_holds_across_two_runner_processes(
    broker: Any, amqp_url: str, tmp_path: Path
) -> None:
    narrow = await broker.asset("narrow", config={"delay_seconds": 0.5}, concurrency_limit=2)
    broker.services.delete_at_end("connector.noop")
    runners = [_runner(broker, amqp_url, tmp_path, f"runner-{n}") for n in range(2)]
    for runner in runners:
        runner.start()
    try:
        for runner in runners:
            await runner.wait_ready()
        requests = [
            ActionRequested(
                request_key=f"test:{uuid4()}",
                action="lookup ip",
                target=ActionTarget(asset=narrow["name"]),
                params={"ip": f"192.0.2.{n + 1}"},
                requested_by="tests",
            )
            for n in range(10)
        ]
        for request in requests:
            await broker.publish(request)
        attempts: list[dict[str, Any]] = []
        for request in requests:
            done = await broker.message(
                ActionCompleted, request_key=request.request_key, timeout=60
            )
            assert done.status == "success"
            attempts.extend((await broker.run(done.results[0].action_run_id))["attempts"])
        assert len(attempts) == 10
        assert {a["runner"] for a in attempts} == {"runner-0", "runner-1"}
        edges = sorted(
            [(a["started_at"], 1) for a in attempts] + [(a["ended_at"], -1) for a in attempts],
            key=lambda e: (datetime.fromisoformat(e[0]), e[1]),
        )
        running = peak = 0
        for _, step in edges:
            running += step
            peak = max(peak, running)
        assert peak == 2
    finally:
        for runner in runners:
            runner.stop()
