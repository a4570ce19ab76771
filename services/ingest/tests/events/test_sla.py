"""``sla.breached`` from the approvals service marks the event, phase or task whose time passed."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from rampart.core.auth import Role
from rampart.core.envelope import Envelope
from rampart.core.messages import SlaBreached
from services.ingest.tests._ingest_api import Ingest
from tests.harness import eventually

BREACHED_AT = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


async def _breach(ingest: Ingest, kind: Any, subject_id: str, event_id: str) -> None:
    message = SlaBreached(
        subject_kind=kind,
        subject_id=uuid.UUID(subject_id),
        event_id=uuid.UUID(event_id),
        due_at=BREACHED_AT - timedelta(minutes=5),
        breached_at=BREACHED_AT,
    )
    await ingest.harness.bus.publish([Envelope.wrap(message, source="rampart/test")])


async def _until(check: Callable[[], Awaitable[Any]]) -> Any:
    return await eventually(check, what="the breach recorded")


async def test_an_events_breach_is_recorded_with_its_time(ingest: Ingest) -> None:
    event_id = await ingest.post_event()
    await _breach(ingest, "event", event_id, event_id)

    async def breached() -> Any:
        return (await ingest.event(event_id))["sla_breached_at"]

    assert datetime.fromisoformat(await _until(breached)) == BREACHED_AT


@pytest.mark.parametrize("kind", ["phase", "task"])
async def test_a_workbook_breach_is_recorded_on_its_phase_or_task(
    ingest: Ingest, kind: str
) -> None:
    event_id = await ingest.post_event()
    added = await ingest.client.post(
        f"/api/v1/events/{event_id}/tasks",
        json={"phase": "Containment", "name": "Call the ISP", "sla_minutes": 15},
        headers=ingest.harness.headers(Role.ANALYST),
    )
    assert added.status_code == 201, added.text
    phase = added.json()[0]
    subject = phase if kind == "phase" else phase["tasks"][0]
    await _breach(ingest, kind, subject["id"], event_id)

    async def breached() -> Any:
        phase = (await ingest.event(event_id))["workbook"][0]
        found = phase if kind == "phase" else phase["tasks"][0]
        return found["sla_breached_at"]

    assert datetime.fromisoformat(await _until(breached)) == BREACHED_AT
