"""Every example of ``docs/playbooks.md`` is uploaded through the API and run on an event.

The action broker runs the actions on ``noop`` assets: the intel source answers every lookup
``malicious``, the owner of web-01 denies its termination through the approvals API, the
other actions run without waiting for approval."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from rampart.core.auth import Role
from rampart.core.messages import EventChangeRequested
from tests.harness import memory_only

DOC = Path(__file__).resolve().parents[3] / "docs" / "playbooks.md"
BLOCK = re.compile(r"```python\n(# example: (\S+) \(labels: (\S+)\)\n.*?)```", re.S)

ARTIFACTS = [
    {"cef": {"sourceAddress": "192.0.2.1", "destinationAddress": "192.0.2.2"}},
    {"cef": {"deviceHostName": "web-01", "sourceProcessId": 4242}},
]


def examples() -> dict[str, tuple[str, str]]:
    """name → (source, label) of every example block."""
    return {m[2]: (m[1], m[3]) for m in BLOCK.finditer(DOC.read_text())}


UNGATED: dict[str, Any] = {"approval_policy": {"kinds": []}}
ASSETS: dict[str, dict[str, Any]] = {
    "intel-1": {"tags": ["intel"], "config": {"verdict": "malicious"}},
    "web-01": {},  # terminate process (a correct action) waits for its owner
    "fw-1": UNGATED,
    "fw-2": UNGATED,
    "edr-1": {"tags": ["edr"], **UNGATED},
}


@memory_only
async def test_the_documented_examples_upload_and_run(engine_stack: Any) -> None:
    found = examples()
    assert set(found) == {"first_look", "careful_terminate", "block_everywhere", "ask_first"}
    async with engine_stack(noop_assets=ASSETS, assets={"perimeter": ["fw-1", "fw-2"]}) as stack:
        for name, (source, _label) in found.items():
            uploaded = await stack.client.post(
                "/api/v1/playbooks", json={"source": source}, headers=stack.headers()
            )
            assert uploaded.status_code == 201, (name, uploaded.text)
            assert uploaded.json()["name"] == name
        events = {
            name: await stack.ingest_event(labels=[label], artifacts=ARTIFACTS)
            for name, (_source, label) in found.items()
        }

        async def prompt() -> list[Any]:
            listed = await stack.client.get("/api/v1/prompts", headers=stack.headers())
            result: list[Any] = listed.json()
            return result

        [asked] = await stack.eventually(prompt)
        answered = await stack.client.post(
            f"/api/v1/prompts/{asked['id']}/answer",
            json={"answer": "yes"},
            headers=stack.headers(Role.ANALYST),
        )
        assert answered.status_code == 200, answered.text
        [termination] = await stack.approvals(1)
        assert (termination["action"], termination["asset"]) == ("terminate process", "web-01")
        await stack.decide(termination, "deny", "that process serves customers")

        runs = {r["playbook"]: r for r in await stack.finished_runs(4)}
        assert all(r["status"] == "completed" for r in runs.values()), runs
        assert runs["first_look"]["result"] == {"192.0.2.1": "malicious", "192.0.2.2": "malicious"}
        assert runs["careful_terminate"]["result"] == "denied"
        assert runs["block_everywhere"]["result"] == 4
        assert runs["ask_first"]["result"] == "yes"
        isolate = [r for r in stack.requests() if r.action == "isolate host"]
        assert [r.params for r in isolate] == [{"host": "vip-laptop-01"}]
        [isolated] = await stack.action_runs(action="isolate host")
        assert (isolated["asset"], isolated["status"]) == ("edr-1", "success")
        changes = await stack.captured.wait_for(EventChangeRequested, 3)
        task = next(c.add_task for c in changes if c.add_task is not None)
        assert task.name == "Stop the process on web-01 by hand (denied)"
        assert {r["event_id"] for r in runs.values()} == {str(e) for e in events.values()}
