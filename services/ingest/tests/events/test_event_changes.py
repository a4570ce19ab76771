"""Analysts change events: status new → open → closed, severity and its due time, owners."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from rampart.core.auth import Role
from rampart.core.messages import EventClosed
from services.ingest.tests._ingest_api import Ingest


async def _patch(ingest: Ingest, event_id: str, **body: Any) -> Any:
    return await ingest.client.patch(
        f"/api/v1/events/{event_id}", json=body, headers=ingest.harness.headers(Role.ANALYST)
    )


async def _opened(ingest: Ingest) -> str:
    event_id = await ingest.post_event(severity="low")
    opened = await _patch(ingest, event_id, status="open", owner="alice")
    assert opened.status_code == 200, opened.text
    return event_id


async def test_closing_needs_a_resolution(ingest: Ingest) -> None:
    event_id = await ingest.post_event(severity="low")
    no_resolution = await _patch(ingest, event_id, status="closed")
    assert no_resolution.status_code == 422
    assert no_resolution.json()["field"] == "resolution"


async def test_opening_sets_the_status_and_the_owner(ingest: Ingest) -> None:
    event_id = await ingest.post_event(severity="low")
    opened = await _patch(ingest, event_id, status="open", owner="alice")
    assert opened.status_code == 200, opened.text
    assert opened.json()["status"] == "open"
    assert opened.json()["owner"] == "alice"


async def test_an_open_event_cannot_become_new_again(ingest: Ingest) -> None:
    back = await _patch(ingest, await _opened(ingest), status="new")
    assert back.status_code == 409


async def test_a_raised_severity_moves_the_due_time(ingest: Ingest) -> None:
    raised = await _patch(ingest, await _opened(ingest), severity="critical", add_labels=["vip"])
    body = raised.json()
    assert body["severity"] == "critical"
    assert "vip" in body["labels"]
    due = datetime.fromisoformat(body["due_at"])
    created = datetime.fromisoformat(body["created_at"])
    assert round((due - created).total_seconds() / 60) == 30


async def test_closing_records_the_resolution_and_announces_it(ingest: Ingest) -> None:
    event_id = await _opened(ingest)
    closed = await _patch(ingest, event_id, status="closed", resolution="false positive")
    assert closed.json()["status"] == "closed"
    assert closed.json()["resolution"] == "false positive"
    assert closed.json()["closed_at"] is not None
    [message] = [
        m for m in await ingest.captured.wait_for("event.closed") if str(m.event_id) == event_id
    ]
    assert isinstance(message, EventClosed)
    assert message.resolution == "false positive"
    assert message.closed_by == "test-analyst"


async def test_each_change_announces_the_fields_it_changed(ingest: Ingest) -> None:
    event_id = await _opened(ingest)
    await _patch(ingest, event_id, severity="critical", add_labels=["vip"])
    updates = [
        m for m in await ingest.captured.wait_for("event.updated", 2) if str(m.event_id) == event_id
    ]
    assert [sorted(m.changes) for m in updates][:2] == [
        ["owner", "status"],
        ["due_at", "labels", "severity"],
    ]


async def test_ingest_tokens_may_not_change_events(ingest: Ingest) -> None:
    event_id = await ingest.post_event()
    forbidden = await ingest.client.patch(
        f"/api/v1/events/{event_id}",
        json={"owner": "x"},
        headers=ingest.harness.headers(Role.INGEST),
    )
    assert forbidden.status_code == 403


async def test_changing_an_unknown_event_is_404(ingest: Ingest) -> None:
    missing = await _patch(ingest, str(uuid.uuid4()), owner="x")
    assert missing.status_code == 404
