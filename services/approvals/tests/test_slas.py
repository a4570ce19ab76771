"""One SLA engine: policies, business hours, warnings, pause and resume, events followed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import pytest

from rampart.core.messages import EventIngested, EventUpdated, SlaBreached, SlaWarning
from services.approvals.tests._harness import Rampart, eventually

OFFICE = {d: [{"start": "09:00", "end": "17:00"}] for d in
          ("monday", "tuesday", "wednesday", "thursday", "friday")}  # fmt: skip


async def _event(rampart: Rampart, *, severity: str = "high", due_in: timedelta | None) -> UUID:
    event_id = uuid4()
    due = None if due_in is None else rampart.clock.now() + due_in
    await rampart.send(
        EventIngested(
            event_id=event_id, source="splunk", name="malware on web-01", severity=severity,
            due_at=due,
        )
    )  # fmt: skip
    return event_id


async def _timer(rampart: Rampart, subject_id: UUID) -> dict[str, Any] | None:
    found = await rampart.admin.get("/api/v1/slas", params={"subject_id": str(subject_id)})
    assert found.status_code == 200, found.text
    timers: list[dict[str, Any]] = found.json()
    return timers[0] if timers else None


async def _timer_eventually(rampart: Rampart, subject_id: UUID, **expected: Any) -> dict[str, Any]:
    async def matches() -> dict[str, Any] | None:
        timer = await _timer(rampart, subject_id)
        if timer is not None and all(timer[k] == v for k, v in expected.items()):
            return timer
        return None

    found: dict[str, Any] = await eventually(matches)
    return found


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def test_a_policy_fixes_the_length_of_an_events_sla(rampart: Rampart) -> None:
    made = await rampart.admin.post(
        "/api/v1/sla-policies",
        json={"name": f"critical-{uuid4().hex[:6]}", "subject_kind": "event",
              "severity": "critical", "minutes": 15},
    )  # fmt: skip
    assert made.status_code == 201, made.text
    try:
        event_id = await _event(rampart, severity="critical", due_in=timedelta(hours=4))
        timer = await _timer_eventually(rampart, event_id)
        assert _at(timer["due_at"]) - _at(timer["started_at"]) == timedelta(minutes=15)
        other = await _event(rampart, severity="high", due_in=timedelta(hours=4))
        timer = await _timer_eventually(rampart, other)
        assert _at(timer["due_at"]) == rampart.clock.now() + timedelta(hours=4)
    finally:
        await rampart.admin.delete(f"/api/v1/sla-policies/{made.json()['id']}")


async def test_an_approval_stage_counts_business_hours_on_its_calendar(rampart: Rampart) -> None:
    name = f"office-{uuid4().hex[:6]}"
    cal = await rampart.admin.post(
        "/api/v1/calendars", json={"name": name, "timezone": "Europe/Berlin", "hours": OFFICE}
    )
    assert cal.status_code == 201, cal.text
    policy = await rampart.admin.post(
        "/api/v1/sla-policies",
        json={"name": f"approvals-{name}", "subject_kind": "approval", "calendar": name},
    )
    assert policy.status_code == 201, policy.text
    try:
        # Friday 16:30 in Berlin: a 60-minute stage runs 30 minutes today and 30 on Monday
        berlin = ZoneInfo("Europe/Berlin")
        friday = datetime(2026, 12, 4, 16, 30, tzinfo=berlin)
        rampart.clock.advance(friday.astimezone(UTC) - rampart.clock.now())
        from services.approvals.tests._harness import approval_request

        alice = await rampart.owner(f"alice-{uuid4().hex[:6]}")
        request = approval_request(("primary", [alice.id], 60))
        await rampart.send(request)

        async def opened() -> list[dict[str, Any]]:
            found = await rampart.admin.get("/api/v1/approvals", params={"asset": "web-01"})
            return [a for a in found.json() if a["action_run_id"] == str(request.action_run_id)]

        approval = (await eventually(opened))[0]
        assert _at(approval["due_at"]) == datetime(2026, 12, 7, 9, 30, tzinfo=berlin)
    finally:
        await rampart.admin.delete(f"/api/v1/sla-policies/{policy.json()['id']}")


async def test_a_warning_fires_at_the_policys_share_and_before_the_breach(
    rampart: Rampart,
) -> None:
    event_id = await _event(rampart, due_in=timedelta(minutes=100))
    await _timer_eventually(rampart, event_id)

    def warned() -> list[SlaWarning]:
        return [m for m in rampart.messages(SlaWarning) if m.subject_id == event_id]

    def breached() -> list[SlaBreached]:
        return [m for m in rampart.messages(SlaBreached) if m.subject_id == event_id]

    rampart.clock.advance(timedelta(minutes=80))
    warning = (await eventually(warned))[0]
    assert warning.warned_at == rampart.clock.now()
    assert breached() == []
    timer = await _timer_eventually(rampart, event_id, status="pending")
    assert timer["warned_at"] is not None
    rampart.clock.advance(timedelta(minutes=20))
    await eventually(breached)
    assert len(warned()) == 1


async def test_a_paused_clock_keeps_its_time_left_and_resumes_with_it(rampart: Rampart) -> None:
    event_id = await _event(rampart, due_in=timedelta(minutes=60))
    timer = await _timer_eventually(rampart, event_id)
    rampart.clock.advance(timedelta(minutes=20))
    paused = await rampart.admin.post(f"/api/v1/slas/{timer['id']}/pause")
    assert paused.status_code == 200, paused.text
    assert paused.json()["status"] == "paused"
    rampart.clock.advance(timedelta(hours=5))
    resumed = await rampart.admin.post(f"/api/v1/slas/{timer['id']}/resume")
    assert resumed.status_code == 200, resumed.text
    assert _at(resumed.json()["due_at"]) == rampart.clock.now() + timedelta(minutes=40)
    assert (await rampart.admin.post(f"/api/v1/slas/{timer['id']}/resume")).status_code == 409


async def test_a_severity_change_moves_the_due_time_by_policy(rampart: Rampart) -> None:
    made = await rampart.admin.post(
        "/api/v1/sla-policies",
        json={"name": f"crit-{uuid4().hex[:6]}", "subject_kind": "event", "severity": "critical",
              "minutes": 10},
    )  # fmt: skip
    try:
        event_id = await _event(rampart, severity="medium", due_in=timedelta(hours=8))
        timer = await _timer_eventually(rampart, event_id)
        await rampart.send(
            EventUpdated(event_id=event_id, changes={"severity": "critical"}, updated_by="ana")
        )
        moved = await _timer_eventually(rampart, event_id, severity="critical")
        assert _at(moved["due_at"]) == _at(timer["started_at"]) + timedelta(minutes=10)
    finally:
        await rampart.admin.delete(f"/api/v1/sla-policies/{made.json()['id']}")


async def test_a_reopened_event_starts_its_clock_again(rampart: Rampart) -> None:
    from rampart.core.messages import EventClosed

    event_id = await _event(rampart, due_in=timedelta(minutes=30))
    await _timer_eventually(rampart, event_id)
    await rampart.send(
        EventClosed(
            event_id=event_id, resolution="false positive", closed_at=rampart.clock.now(),
            closed_by="ana",
        )
    )  # fmt: skip
    await _timer_eventually(rampart, event_id, status="cancelled")
    rampart.clock.advance(timedelta(hours=2))
    await rampart.send(EventUpdated(event_id=event_id, changes={"status": "open"}))
    again = await _timer_eventually(rampart, event_id, status="pending")
    assert _at(again["started_at"]) == rampart.clock.now()
    assert _at(again["due_at"]) == rampart.clock.now() + timedelta(minutes=30)


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/sla-policies", {"name": "x", "subject_kind": "event", "minutes": 0}, "minutes"),
        ("/api/v1/sla-policies", {"name": "x", "subject_kind": "event", "minutes": -5}, "minutes"),
        ("/api/v1/sla-policies", {"name": "x", "subject_kind": "event", "calendar": "nope"},
         "calendar"),
        ("/api/v1/sla-policies", {"name": "x", "subject_kind": "nothing"}, "subject_kind"),
        ("/api/v1/calendars", {"name": "x", "timezone": "Mars/Base", "hours": OFFICE},
         "timezone"),
        ("/api/v1/calendars", {"name": "x", "timezone": "UTC", "hours": {}}, "hours"),
    ],
)  # fmt: skip
async def test_bad_policies_and_calendars_are_refused_naming_the_field(
    rampart: Rampart, path: str, body: dict[str, Any], field: str
) -> None:
    answer = await rampart.admin.post(path, json=body)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["errors"][0]["field"].endswith(field)


async def test_pausing_an_unknown_timer_is_404(rampart: Rampart) -> None:
    answer = await rampart.admin.post(f"/api/v1/slas/{uuid4()}/pause")
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/problem+json"


async def test_an_approval_stage_warning_reminds_its_assignees(rampart: Rampart) -> None:
    from services.approvals.tests._harness import approval_request

    alice = await rampart.owner(f"alice-{uuid4().hex[:6]}")
    request = approval_request(("primary", [alice.id], 10))
    await rampart.send(request)

    async def opened() -> list[dict[str, Any]]:
        found = await rampart.admin.get("/api/v1/approvals", params={"asset": "web-01"})
        return [a for a in found.json() if a["action_run_id"] == str(request.action_run_id)]

    approval = (await eventually(opened))[0]
    rampart.clock.advance(timedelta(minutes=8))

    def warned() -> list[SlaWarning]:
        return [m for m in rampart.messages(SlaWarning) if str(m.subject_id) == approval["id"]]

    await eventually(warned)

    async def reminders() -> list[Any]:
        async with rampart.services.pool.acquire() as conn:
            return list(
                await conn.fetch(
                    "SELECT owner_id, stage FROM approvals.approval_notifications "
                    "WHERE approval_id = $1 AND reason = 'warning'",
                    UUID(approval["id"]),
                )
            )

    found = await eventually(reminders)
    assert [(r["owner_id"], r["stage"]) for r in found] == [(alice.id, "primary")]
