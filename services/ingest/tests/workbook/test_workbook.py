"""An event's workbook: the NIST 800-61 template, tasks added and completed with a note."""

from __future__ import annotations

from typing import Any

import pytest

from rampart.core.auth import Role
from rampart.core.messages import PhaseCompleted, PhaseStarted, TaskCompleted, TaskCreated
from services.ingest.tests._ingest_api import Ingest


@pytest.fixture
async def nist(ingest: Ingest) -> tuple[str, list[dict[str, Any]]]:
    """An event given the NIST 800-61 workbook owned by soc-team: its id and its phases."""
    event_id = await ingest.post_event()
    workbook = await ingest.client.post(
        f"/api/v1/events/{event_id}/workbook",
        json={"template": "nist-800-61", "owner": "soc-team"},
        headers=ingest.harness.headers(Role.ANALYST),
    )
    assert workbook.status_code == 201, workbook.text
    phases: list[dict[str, Any]] = workbook.json()
    return event_id, phases


async def _complete(ingest: Ingest, event_id: str, task_id: str, body: dict[str, Any]) -> Any:
    return await ingest.client.post(
        f"/api/v1/events/{event_id}/tasks/{task_id}/complete",
        json=body,
        headers=ingest.harness.headers(Role.ANALYST),
    )


async def test_the_nist_template_gives_its_five_phases_with_owner_and_due_times(
    nist: tuple[str, list[dict[str, Any]]],
) -> None:
    _, phases = nist
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


async def test_each_template_task_is_announced_with_its_due_time(
    ingest: Ingest, nist: tuple[str, list[dict[str, Any]]]
) -> None:
    event_id, _ = nist
    created = [
        m for m in await ingest.captured.wait_for("task.created", 12) if str(m.event_id) == event_id
    ]
    assert len(created) == 12
    assert all(isinstance(m, TaskCreated) and m.due_at for m in created)


async def test_completing_a_task_records_its_note_and_announces_it(
    ingest: Ingest, nist: tuple[str, list[dict[str, Any]]]
) -> None:
    event_id, phases = nist
    first_task = phases[0]["tasks"][0]
    done = await _complete(ingest, event_id, first_task["id"], {"note": "confirmed: real"})
    assert done.status_code == 200, done.text
    task = done.json()[0]["tasks"][0]
    assert task["status"] == "done"
    assert task["note"] == "confirmed: real"
    assert task["completed_by"] == "test-analyst"
    [completed] = await ingest.captured.wait_for("task.completed")
    assert isinstance(completed, TaskCompleted)
    assert str(completed.task_id) == first_task["id"]
    detail = await ingest.event(event_id)
    assert detail["workbook"][0]["tasks"][0]["status"] == "done"


async def test_each_phase_is_announced_with_its_owner_and_due_time(
    ingest: Ingest, nist: tuple[str, list[dict[str, Any]]]
) -> None:
    event_id, phases = nist
    started = [
        m for m in await ingest.captured.wait_for("phase.started", 5) if str(m.event_id) == event_id
    ]
    assert all(isinstance(m, PhaseStarted) for m in started)
    by_id = {str(m.phase_id): m for m in started}
    assert set(by_id) == {p["id"] for p in phases}
    for phase in phases:
        announced = by_id[phase["id"]]
        assert (announced.name, announced.owner) == (phase["name"], "soc-team")
        assert announced.due_at is not None
        assert announced.due_at.isoformat() == phase["due_at"].replace("Z", "+00:00")
    # the same template applied again makes no phase, so it announces none
    again = await ingest.client.post(
        f"/api/v1/events/{event_id}/workbook",
        json={"template": "nist-800-61"},
        headers=ingest.harness.headers(Role.ANALYST),
    )
    assert again.status_code == 201, again.text
    marker = await ingest.post_event()
    extra = await ingest.client.post(
        f"/api/v1/events/{marker}/tasks",
        json={"phase": "Triage", "name": "look"},
        headers=ingest.harness.headers(Role.ANALYST),
    )
    assert extra.status_code == 201, extra.text
    await ingest.harness.eventually(
        lambda: [m for m in ingest.captured.of(PhaseStarted) if str(m.event_id) == marker]
    )
    assert len([m for m in ingest.captured.of(PhaseStarted) if str(m.event_id) == event_id]) == 5


async def test_a_phase_completes_when_its_last_task_is_done(
    ingest: Ingest, nist: tuple[str, list[dict[str, Any]]]
) -> None:
    event_id, phases = nist
    first = phases[0]
    *before, last = first["tasks"]
    for task in before:
        done = await _complete(ingest, event_id, task["id"], {"note": "done"})
        assert done.status_code == 200, done.text
        assert done.json()[0]["completed_at"] is None
    finished = await _complete(ingest, event_id, last["id"], {"note": "done"})
    assert finished.status_code == 200, finished.text
    assert finished.json()[0]["completed_at"] is not None
    assert all(p["completed_at"] is None for p in finished.json()[1:])
    [completed] = await ingest.captured.wait_for("phase.completed")
    assert isinstance(completed, PhaseCompleted)
    assert (str(completed.event_id), str(completed.phase_id)) == (event_id, first["id"])
    assert completed.completed_at.isoformat() == finished.json()[0]["completed_at"].replace(
        "Z", "+00:00"
    )
    # each of its tasks was announced done as well
    assert len(await ingest.captured.wait_for("task.completed", 3)) == 3


async def test_completing_a_task_again_changes_nothing(
    ingest: Ingest, nist: tuple[str, list[dict[str, Any]]]
) -> None:
    event_id, phases = nist
    task_id = phases[0]["tasks"][0]["id"]
    await _complete(ingest, event_id, task_id, {"note": "confirmed: real"})
    again = await _complete(ingest, event_id, task_id, {"note": "twice"})
    assert again.status_code == 200
    assert again.json()[0]["tasks"][0]["note"] == "confirmed: real"


async def test_completing_a_task_needs_a_note(
    ingest: Ingest, nist: tuple[str, list[dict[str, Any]]]
) -> None:
    event_id, phases = nist
    no_note = await _complete(ingest, event_id, phases[0]["tasks"][0]["id"], {})
    assert no_note.status_code == 422


async def test_a_task_joins_the_phase_of_its_name(
    ingest: Ingest, nist: tuple[str, list[dict[str, Any]]]
) -> None:
    event_id, _ = nist
    custom = await ingest.client.post(
        f"/api/v1/events/{event_id}/tasks",
        json={"phase": "Containment", "name": "Call the ISP", "owner": "bob", "sla_minutes": 15},
        headers=ingest.harness.headers(Role.ANALYST),
    )
    assert any(t["name"] == "Call the ISP" for t in custom.json()[1]["tasks"])
