"""The events API and the change requests playbooks send, on the real database and bus."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from rampart.core.auth import Role
from rampart.core.envelope import Envelope
from rampart.core.messages import (
    EventChangeRequested,
    EventClosed,
    TaskCompleted,
    TaskCompletion,
    TaskCreated,
    TaskSpec,
)
from services.ingest.tests._ingest_helpers import PROBLEM, IngestApp, running_ingest


@pytest.fixture
async def ingest(database_url: str, pool: Any, namespace: str) -> AsyncIterator[IngestApp]:
    async for app in running_ingest(database_url, pool, namespace):
        yield app


async def _post(ingest: IngestApp, **fields: Any) -> str:
    body = {"name": "an event", "source": "api-test", **fields}
    response = await ingest.client.post("/api/v1/events", json=body, headers=ingest.auth())
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


async def test_list_filters_and_pages_with_a_cursor(ingest: IngestApp) -> None:
    tag = uuid.uuid4().hex[:8]
    ids = []
    for i in range(7):
        ids.append(
            await _post(
                ingest,
                name=f"{tag} event {i}",
                source=f"list-{tag}",
                severity="high" if i % 2 else "low",
                labels=["even"] if i % 2 == 0 else ["odd", "x"],
                artifacts=[{"cef": {"sourceAddress": f"10.77.0.{i}"}}],
            )
        )
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"source": f"list-{tag}", "limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = (
            await ingest.client.get("/api/v1/events", params=params, headers=ingest.auth())
        ).json()
        seen.extend(e["id"] for e in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids)), "newest first, each once"
    high = await ingest.client.get(
        "/api/v1/events",
        params={"source": f"list-{tag}", "severity": "high"},
        headers=ingest.auth(),
    )
    assert {e["name"] for e in high.json()["items"]} == {f"{tag} event {i}" for i in (1, 3, 5)}
    labelled = await ingest.client.get(
        "/api/v1/events",
        params={"source": f"list-{tag}", "label": ["odd", "x"]},
        headers=ingest.auth(),
    )
    assert len(labelled.json()["items"]) == 3
    by_text = await ingest.client.get(
        "/api/v1/events", params={"q": "10.77.0.4"}, headers=ingest.auth()
    )
    assert [e["id"] for e in by_text.json()["items"]] == [ids[4]]
    by_name = await ingest.client.get(
        "/api/v1/events", params={"q": f"{tag} event 2"}, headers=ingest.auth()
    )
    assert [e["id"] for e in by_name.json()["items"]] == [ids[2]]
    window = await ingest.client.get(
        "/api/v1/events",
        params={
            "source": f"list-{tag}",
            "since": "2000-01-01T00:00:00Z",
            "until": "2000-01-02T00:00:00Z",
        },
        headers=ingest.auth(),
    )
    assert window.json()["items"] == []
    bad = await ingest.client.get(
        "/api/v1/events", params={"cursor": "garbage!"}, headers=ingest.auth()
    )
    assert bad.status_code == 400
    assert bad.headers["content-type"] == PROBLEM
    service = await ingest.client.get(f"/api/v1/events/{ids[0]}", headers=ingest.auth(Role.SERVICE))
    assert service.status_code == 200


async def test_status_moves_and_closing_needs_a_resolution(ingest: IngestApp) -> None:
    event_id = await _post(ingest, severity="low")
    url = f"/api/v1/events/{event_id}"
    analyst = ingest.auth()
    no_resolution = await ingest.client.patch(url, json={"status": "closed"}, headers=analyst)
    assert no_resolution.status_code == 422
    assert no_resolution.json()["field"] == "resolution"
    opened = await ingest.client.patch(
        url, json={"status": "open", "owner": "alice"}, headers=analyst
    )
    assert opened.status_code == 200, opened.text
    assert opened.json()["status"] == "open"
    assert opened.json()["owner"] == "alice"
    back = await ingest.client.patch(url, json={"status": "new"}, headers=analyst)
    assert back.status_code == 409
    raised = await ingest.client.patch(
        url, json={"severity": "critical", "add_labels": ["vip"]}, headers=analyst
    )
    body = raised.json()
    assert body["severity"] == "critical"
    assert "vip" in body["labels"]
    from datetime import datetime

    due = datetime.fromisoformat(body["due_at"])
    created = datetime.fromisoformat(body["created_at"])
    assert round((due - created).total_seconds() / 60) == 30
    closed = await ingest.client.patch(
        url, json={"status": "closed", "resolution": "false positive"}, headers=analyst
    )
    assert closed.json()["status"] == "closed"
    assert closed.json()["resolution"] == "false positive"
    assert closed.json()["closed_at"] is not None
    [message] = [m for m in await ingest.wait_for("event.closed") if str(m.event_id) == event_id]
    assert isinstance(message, EventClosed)
    assert message.resolution == "false positive"
    assert message.closed_by == "t-analyst"
    updates = [m for m in ingest.captured.of("event.updated") if str(m.event_id) == event_id]
    assert [sorted(m.changes) for m in updates][:2] == [
        ["owner", "status"],
        ["due_at", "labels", "severity"],
    ]
    forbidden = await ingest.client.patch(
        url, json={"owner": "x"}, headers=ingest.auth(Role.INGEST)
    )
    assert forbidden.status_code == 403
    missing = await ingest.client.patch(
        f"/api/v1/events/{uuid.uuid4()}", json={"owner": "x"}, headers=analyst
    )
    assert missing.status_code == 404


async def test_notes_artifacts_and_a_nist_workbook(ingest: IngestApp) -> None:
    event_id = await _post(ingest)
    analyst = ingest.auth()
    note = await ingest.client.post(
        f"/api/v1/events/{event_id}/notes", json={"text": "looked at it"}, headers=analyst
    )
    assert note.status_code == 201
    assert note.json()["author"] == "t-analyst"
    added = await ingest.client.post(
        f"/api/v1/events/{event_id}/artifacts",
        json=[
            {"name": "c2", "cef": {"destinationDnsDomain": "evil.example.org"}},
            {"name": "c2", "cef": {"destinationDnsDomain": "evil.example.org"}},
            {"cef": {"sourceProcessId": 4242, "deviceHostName": "web-01"}},
        ],
        headers=analyst,
    )
    assert added.json() == {"added": 2}
    bad = await ingest.client.post(
        f"/api/v1/events/{event_id}/artifacts", json=[{"cef": {}}], headers=analyst
    )
    assert bad.status_code == 422
    assert bad.json()["field"] == "body.0"
    workbook = await ingest.client.post(
        f"/api/v1/events/{event_id}/workbook",
        json={"template": "nist-800-61", "owner": "soc-team"},
        headers=analyst,
    )
    assert workbook.status_code == 201, workbook.text
    phases = workbook.json()
    assert [p["name"] for p in phases] == [
        "Detection & Analysis",
        "Containment",
        "Eradication",
        "Recovery",
        "Post-Incident Activity",
    ]
    assert all(p["owner"] == "soc-team" and p["due_at"] for p in phases)
    first_task = phases[0]["tasks"][0]
    assert first_task["sla_minutes"] == 30
    assert first_task["status"] == "open"
    created = [m for m in await ingest.wait_for("task.created", 12) if str(m.event_id) == event_id]
    assert len(created) == 12
    assert all(isinstance(m, TaskCreated) and m.due_at for m in created)
    done = await ingest.client.post(
        f"/api/v1/events/{event_id}/tasks/{first_task['id']}/complete",
        json={"note": "confirmed: real"},
        headers=analyst,
    )
    assert done.status_code == 200, done.text
    task = done.json()[0]["tasks"][0]
    assert task["status"] == "done"
    assert task["note"] == "confirmed: real"
    assert task["completed_by"] == "t-analyst"
    [completed] = await ingest.wait_for("task.completed")
    assert isinstance(completed, TaskCompleted)
    assert str(completed.task_id) == first_task["id"]
    again = await ingest.client.post(
        f"/api/v1/events/{event_id}/tasks/{first_task['id']}/complete",
        json={"note": "twice"},
        headers=analyst,
    )
    assert again.status_code == 200
    assert again.json()[0]["tasks"][0]["note"] == "confirmed: real"
    no_note = await ingest.client.post(
        f"/api/v1/events/{event_id}/tasks/{first_task['id']}/complete", json={}, headers=analyst
    )
    assert no_note.status_code == 422
    custom = await ingest.client.post(
        f"/api/v1/events/{event_id}/tasks",
        json={"phase": "Containment", "name": "Call the ISP", "owner": "bob", "sla_minutes": 15},
        headers=analyst,
    )
    assert any(t["name"] == "Call the ISP" for t in custom.json()[1]["tasks"])
    detail = await ingest.event(event_id)
    assert [n["text"] for n in detail["notes"]] == ["looked at it"]
    assert len(detail["artifacts"]) == 2
    pid = next(a for a in detail["artifacts"] if "sourceProcessId" in a["cef"])
    assert pid["contains"]["sourceProcessId"] == ["process id"]
    assert pid["contains"]["deviceHostName"] == ["host name"]
    assert detail["workbook"][0]["tasks"][0]["status"] == "done"


async def _request(ingest: IngestApp, message: EventChangeRequested) -> None:
    await ingest.bus.publish([Envelope.wrap(message, source="rampart/test")])


async def test_change_requests_apply_once_per_key(ingest: IngestApp) -> None:
    event_id = await _post(ingest, severity="medium")
    key = f"run-1:{uuid.uuid4().hex}"
    request = EventChangeRequested(
        event_id=uuid.UUID(event_id),
        request_key=key,
        requested_by="playbook:contain",
        status="open",
        severity="high",
        owner="tier2",
        add_labels=["contained"],
        note="blocked 10.0.0.1 on the perimeter",
        artifacts=[
            {"name": "blocked", "cef": {"sourceAddress": "10.0.0.1"}},
            {"fileHash": "d41d8cd98f00b204e9800998ecf8427e"},
        ],
        add_task=TaskSpec(
            phase="Containment", name="Verify the block", owner="tier2", sla_minutes=20
        ),
    )
    await _request(ingest, request)
    await _request(ingest, request.model_copy())  # a resend under a new message id

    async def applied() -> dict[str, Any]:
        for _ in range(200):
            detail = await ingest.event(event_id)
            if detail["workbook"]:
                return detail
            await asyncio.sleep(0.05)
        raise AssertionError("the change request was not applied")

    detail = await applied()
    assert detail["status"] == "open"
    assert detail["severity"] == "high"
    assert detail["owner"] == "tier2"
    assert "contained" in detail["labels"]
    assert [n["author"] for n in detail["notes"]] == ["playbook:contain"]
    assert len(detail["artifacts"]) == 2
    task = detail["workbook"][0]["tasks"][0]
    assert task["name"] == "Verify the block"
    assert task["sla_minutes"] == 20
    [created] = [m for m in await ingest.wait_for("task.created") if str(m.event_id) == event_id]
    updated = [m for m in await ingest.wait_for("event.updated") if str(m.event_id) == event_id]
    assert len(updated) == 1
    assert updated[0].updated_by == "playbook:contain"

    close = EventChangeRequested(
        event_id=uuid.UUID(event_id),
        request_key=f"{key}:close",
        requested_by="playbook:contain",
        status="closed",
        resolution="contained by playbook",
        complete_task=TaskCompletion(task_id=created.task_id, note="block verified"),
    )
    await _request(ingest, close)
    [closed] = [m for m in await ingest.wait_for("event.closed") if str(m.event_id) == event_id]
    assert closed.resolution == "contained by playbook"
    [done] = [m for m in await ingest.wait_for("task.completed") if str(m.event_id) == event_id]
    assert done.note == "block verified"
    final = await ingest.event(event_id)
    assert final["status"] == "closed"
    assert final["workbook"][0]["tasks"][0]["status"] == "done"


async def test_a_change_that_cannot_apply_is_dead_lettered_with_the_reason(
    ingest: IngestApp,
) -> None:
    unknown = EventChangeRequested(
        event_id=uuid.uuid4(), request_key=f"k-{uuid.uuid4().hex}", requested_by="pb", note="x"
    )
    event_id = await _post(ingest)
    no_resolution = EventChangeRequested(
        event_id=uuid.UUID(event_id),
        request_key=f"k-{uuid.uuid4().hex}",
        requested_by="pb",
        status="closed",
    )
    await _request(ingest, unknown)
    await _request(ingest, no_resolution)
    for _ in range(200):
        letters = await ingest.bus.dead_letters("ingest.changes")
        if len(letters) >= 2:
            break
        await asyncio.sleep(0.05)
    reasons = sorted(d.reason for d in await ingest.bus.dead_letters("ingest.changes"))
    assert len(reasons) == 2
    assert any("no event" in r for r in reasons)
    assert any("resolution" in r for r in reasons)
    assert (await ingest.event(event_id))["status"] == "new"
    fixed = no_resolution.model_copy(update={"resolution": "duplicate"})
    await _request(ingest, fixed)
    for _ in range(200):
        if (await ingest.event(event_id))["status"] == "closed":
            break
        await asyncio.sleep(0.05)
    assert (await ingest.event(event_id))["status"] == "closed", "the same key applies once fixed"
