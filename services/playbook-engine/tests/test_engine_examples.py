"""The example playbooks shipped in ``playbooks/``, end to end in embedded mode.

All five services run in one app on the in-process bus: events are posted to the ingest
service, which detects their artifacts' types, and the engine reads them back from it. The
action broker runs the actions on ``noop`` assets; the reputation source answers every lookup
``malicious``, and the actions the playbooks take run without waiting for approval.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rampart.core.messages import EventChangeRequested
from tests.harness import memory_only

EXAMPLES = Path(__file__).resolve().parents[3] / "playbooks"

MALWARE = [
    {
        "cef": {
            "deviceHostName": "web-01",
            "sourceProcessId": 4242,
            "sourceAddress": "10.0.0.5",
            "destinationAddress": "203.0.113.66",
        },
    }
]
PHISHING = [
    {"cef": {"requestUrl": "http://login.evil.example/reset"}},
    {"cef": {"sourceDnsDomain": "evil.example", "sourceUserName": "billing@evil.example"}},
]
BRUTE_FORCE = [{"cef": {"destinationUserName": "alice", "sourceAddress": "198.51.100.23"}}]


UNGATED: dict[str, Any] = {"approval_policy": {"kinds": []}}
ASSETS: dict[str, dict[str, Any]] = {
    "web-01": UNGATED,
    "fw-1": {"tags": ["perimeter"], **UNGATED},
    "fw-2": {"tags": ["perimeter"], **UNGATED},
    "reputation-1": {"tags": ["reputation"], "config": {"verdict": "malicious"}},
    "mail-gateway-1": {"tags": ["mail-gateway"], **UNGATED},
    "notify-1": {"tags": ["notify"], **UNGATED},
    "directory-1": {"tags": ["directory"], **UNGATED},
}
"""The assets the three playbooks act on, by the names and tags they use."""


def actions(stack: Any, run_id: str) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(action, target, params) requested by one run, in step order."""
    mine = [r for r in stack.requests() if r.run_id and str(r.run_id) == run_id]
    mine.sort(key=lambda r: int(r.request_key.rsplit(":", 1)[1]))
    return [(r.action, r.target.model_dump(exclude_none=True), r.params) for r in mine]


@memory_only
async def test_the_three_examples_run_end_to_end_embedded(engine_stack: Any) -> None:
    async with engine_stack(
        folder=EXAMPLES, embedded=True, noop_assets=ASSETS, assets={"perimeter": ["fw-1", "fw-2"]}
    ) as stack:
        listed = await stack.client.get("/api/v1/playbooks", headers=stack.headers())
        assert [p["name"] for p in listed.json()] == [
            "contain_malware_linux",
            "phishing_triage",
            "brute_force_response",
        ]
        malware = await stack.post_event(labels=["malware"], severity="high", artifacts=MALWARE)
        low = await stack.post_event(labels=["malware"], severity="low", artifacts=MALWARE)
        phishing = await stack.post_event(labels=["phishing"], artifacts=PHISHING)
        brute = await stack.post_event(labels=["brute-force"], artifacts=BRUTE_FORCE)
        runs = {r["event_id"]: r for r in await stack.finished_runs(3, timeout=60)}
        assert str(low) not in runs  # the predicate wants high severity or more
        assert all(r["status"] == "completed" for r in runs.values()), runs

        run = runs[str(malware)]
        assert actions(stack, run["id"]) == [
            ("get process dump", {"asset": "web-01"}, {"pid": 4242}),
            ("terminate process", {"asset": "web-01"}, {"pid": 4242}),
            ("block ip", {"asset": "fw-1"}, {"ip": "203.0.113.66"}),
            ("block ip", {"asset": "fw-2"}, {"ip": "203.0.113.66"}),
        ]
        assert run["result"]["terminated"] == ["web-01:4242"]
        assert stack.assets.calls == [("perimeter", "block ip")]

        run = runs[str(phishing)]
        assert actions(stack, run["id"]) == [
            ("lookup url", {"tag": "reputation"}, {"url": "http://login.evil.example/reset"}),
            ("lookup domain", {"tag": "reputation"}, {"domain": "evil.example"}),
            ("block domain", {"tag": "mail-gateway"}, {"domain": "evil.example"}),
            (
                "send message",
                {"tag": "notify"},
                {
                    "to": ["soc@example.com"],
                    "subject": "Phishing confirmed: test event",
                    "body": "Malicious URLs: http://login.evil.example/reset\n"
                    "Malicious sender domains: evil.example\nBlocked: evil.example",
                },
            ),
        ]

        run = runs[str(brute)]
        assert actions(stack, run["id"]) == [
            ("disable user", {"tag": "directory"}, {"user": "alice"}),
            ("block ip", {"tag": "perimeter"}, {"ip": "198.51.100.23"}),
        ]
        changes = await stack.captured.wait_for(EventChangeRequested, 8)
        tasks = [c.add_task for c in changes if c.add_task is not None]
        assert [(t.phase, t.owner, t.sla_minutes) for t in tasks] == [
            ("containment", "identity-team", 60)
        ]
        assert {c.severity for c in changes if c.event_id == phishing} == {None, "high"}
        assert {c.status for c in changes if c.status} == {"open"}
        ran = [
            r for run in runs.values() for r in await stack.action_runs(playbook_run_id=run["id"])
        ]
        assert len(ran) == 11  # block ip on the perimeter tag runs on fw-1 and fw-2
        assert {r["status"] for r in ran} == {"success"}, ran
