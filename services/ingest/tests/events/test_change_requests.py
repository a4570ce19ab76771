"""``event.change.requested`` from playbooks: applied once per request key, or dead-lettered."""

from __future__ import annotations

import uuid
from typing import Any

from rampart.core.envelope import Envelope
from rampart.core.messages import EventChangeRequested, TaskCompletion, TaskSpec
from services.ingest.tests._ingest_api import Ingest
from tests.harness import eventually


async def _request(ingest: Ingest, message: EventChangeRequested) -> None:
    await ingest.harness.bus.publish([Envelope.wrap(message, source="rampart/test")])


def _contain(event_id: str, key: str) -> EventChangeRequested:
    return EventChangeRequested(
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


async def _applied(ingest: Ingest, event_id: str) -> dict[str, Any]:
    async def with_workbook() -> dict[str, Any] | None:
        detail = await ingest.event(event_id)
        return detail if detail["workbook"] else None

    return await eventually(with_workbook, what="the change request applied")


async def test_a_change_request_applies_once_per_key(ingest: Ingest) -> None:
    event_id = await ingest.post_event(severity="medium")
    request = _contain(event_id, f"run-1:{uuid.uuid4().hex}")
    await _request(ingest, request)
    await _request(ingest, request.model_copy())  # a resend under a new message id

    detail = await _applied(ingest, event_id)
    assert detail["status"] == "open"
    assert detail["severity"] == "high"
    assert detail["owner"] == "tier2"
    assert "contained" in detail["labels"]
    assert [n["author"] for n in detail["notes"]] == ["playbook:contain"]
    assert len(detail["artifacts"]) == 2
    task = detail["workbook"][0]["tasks"][0]
    assert task["name"] == "Verify the block"
    assert task["sla_minutes"] == 20
    [_] = [m for m in await ingest.captured.wait_for("task.created") if str(m.event_id) == event_id]
    updated = [
        m for m in await ingest.captured.wait_for("event.updated") if str(m.event_id) == event_id
    ]
    assert len(updated) == 1
    assert updated[0].updated_by == "playbook:contain"


async def test_a_change_request_closes_the_event_and_completes_a_task(ingest: Ingest) -> None:
    event_id = await ingest.post_event(severity="medium")
    key = f"run-1:{uuid.uuid4().hex}"
    await _request(ingest, _contain(event_id, key))
    await _applied(ingest, event_id)
    [created] = [
        m for m in await ingest.captured.wait_for("task.created") if str(m.event_id) == event_id
    ]

    close = EventChangeRequested(
        event_id=uuid.UUID(event_id),
        request_key=f"{key}:close",
        requested_by="playbook:contain",
        status="closed",
        resolution="contained by playbook",
        complete_task=TaskCompletion(task_id=created.task_id, note="block verified"),
    )
    await _request(ingest, close)
    [closed] = [
        m for m in await ingest.captured.wait_for("event.closed") if str(m.event_id) == event_id
    ]
    assert closed.resolution == "contained by playbook"
    [done] = [
        m for m in await ingest.captured.wait_for("task.completed") if str(m.event_id) == event_id
    ]
    assert done.note == "block verified"
    final = await ingest.event(event_id)
    assert final["status"] == "closed"
    assert final["workbook"][0]["tasks"][0]["status"] == "done"


async def _dead_letters(ingest: Ingest, count: int) -> list[str]:
    async def enough() -> list[str]:
        letters = await ingest.harness.bus.dead_letters("ingest.changes")
        return sorted(d.reason for d in letters) if len(letters) >= count else []

    return await eventually(enough, what=f"{count} dead letters of ingest.changes")


def _close_without_resolution(event_id: str) -> EventChangeRequested:
    return EventChangeRequested(
        event_id=uuid.UUID(event_id),
        request_key=f"k-{uuid.uuid4().hex}",
        requested_by="pb",
        status="closed",
    )


async def test_a_change_that_cannot_apply_is_dead_lettered_with_the_reason(
    ingest: Ingest,
) -> None:
    unknown = EventChangeRequested(
        event_id=uuid.uuid4(), request_key=f"k-{uuid.uuid4().hex}", requested_by="pb", note="x"
    )
    event_id = await ingest.post_event()
    await _request(ingest, unknown)
    await _request(ingest, _close_without_resolution(event_id))
    reasons = await _dead_letters(ingest, 2)
    assert len(reasons) == 2
    assert any("no event" in r for r in reasons)
    assert any("resolution" in r for r in reasons)
    assert (await ingest.event(event_id))["status"] == "new"


async def test_a_corrected_request_under_the_same_key_applies(ingest: Ingest) -> None:
    event_id = await ingest.post_event()
    refused = _close_without_resolution(event_id)
    await _request(ingest, refused)
    assert len(await _dead_letters(ingest, 1)) == 1
    fixed = refused.model_copy(update={"resolution": "duplicate"})
    await _request(ingest, fixed)

    async def closed() -> bool:
        return (await ingest.event(event_id))["status"] == "closed"

    assert await eventually(closed, what="the same key applies once fixed")
