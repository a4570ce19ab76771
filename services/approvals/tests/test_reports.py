"""The SLA report: by severity and owner, approvals' time to decide, and the same as metrics."""

from __future__ import annotations

import re
from datetime import timedelta
from uuid import UUID, uuid4

from rampart.core.messages import EventClosed, EventIngested, EventUpdated
from services.approvals.tests._harness import Rampart, approval_request, eventually


async def _ingest(rampart: Rampart, severity: str, due_in: timedelta) -> UUID:
    event_id = uuid4()
    await rampart.send(
        EventIngested(
            event_id=event_id, source="splunk", name="alert", severity=severity,
            due_at=rampart.clock.now() + due_in,
        )
    )  # fmt: skip
    return event_id


async def _slas(rampart: Rampart, event_id: UUID) -> list[dict[str, object]]:
    found = await rampart.admin.get("/api/v1/slas", params={"subject_id": str(event_id)})
    timers: list[dict[str, object]] = found.json()
    return timers


async def test_the_report_counts_what_happened_in_its_range(rampart: Rampart) -> None:
    since = rampart.clock.now()
    alice = await rampart.owner(f"alice-{uuid4().hex[:6]}")
    met = await _ingest(rampart, "high", timedelta(hours=1))
    late = await _ingest(rampart, "high", timedelta(minutes=10))
    low = await _ingest(rampart, "low", timedelta(hours=8))
    for event_id in (met, late, low):
        await eventually(lambda e=event_id: _slas(rampart, e))
    rampart.clock.advance(timedelta(minutes=5))
    await rampart.send(
        EventUpdated(event_id=met, changes={"status": "open", "owner": "ana"}, updated_by="ana")
    )

    async def acknowledged() -> bool:
        report = await rampart.admin.get("/api/v1/reports/sla", params={"since": since.isoformat()})
        return report.json()["by_owner"].get("ana", {}).get("events") == 1

    await eventually(acknowledged)
    rampart.clock.advance(timedelta(minutes=15))  # 20 minutes in: `late` breaches
    await eventually(lambda: _breached(rampart, late))
    closed_at = rampart.clock.now()
    for event_id in (met, late):
        await rampart.send(
            EventClosed(event_id=event_id, resolution="contained", closed_at=closed_at)
        )
    await eventually(lambda: _stopped(rampart, met))
    await eventually(lambda: _stopped(rampart, late))
    request = approval_request(("primary", [alice.id], 30))
    await rampart.send(request)

    async def opened() -> list[dict[str, object]]:
        found = await rampart.admin.get("/api/v1/approvals", params={"asset": "web-01"})
        return [a for a in found.json() if a["action_run_id"] == str(request.action_run_id)]

    approval = (await eventually(opened))[0]
    rampart.clock.advance(timedelta(minutes=2))
    async with rampart.as_owner(alice) as client:
        decided = await client.post(
            f"/api/v1/approvals/{approval['id']}/decision", json={"decision": "approve"}
        )
    assert decided.status_code == 200, decided.text

    report = (
        await rampart.admin.get(
            "/api/v1/reports/sla",
            params={"since": since.isoformat(), "until": rampart.clock.now().isoformat()},
        )
    ).json()
    high = report["by_severity"]["high"]
    assert high["events"] == 2
    assert high["slas_met"] == 1
    assert high["slas_breached"] == 1
    assert high["compliance"] == 0.5
    assert high["time_to_acknowledge"]["count"] == 2  # opened after 5 minutes; closed at 20
    assert high["time_to_acknowledge"]["mean_s"] == (5 * 60 + 20 * 60) / 2
    assert high["time_to_resolve"]["count"] == 2
    assert high["time_to_resolve"]["mean_s"] == 20 * 60
    low_figures = report["by_severity"]["low"]
    assert low_figures["events"] == 1
    assert low_figures["compliance"] is None
    assert report["by_owner"]["ana"]["events"] == 1
    assert report["by_owner"]["unassigned"]["events"] == 2
    approvals = report["approvals"]
    assert approvals["approvals"] == 1
    assert approvals["approved"] == 1
    assert approvals["time_to_decide"]["mean_s"] == 120

    # the gauges show the figures of the whole history, as the report computes them
    whole = (
        await rampart.admin.get(
            "/api/v1/reports/sla",
            params={"since": "1970-01-01T00:00:00Z", "until": rampart.clock.now().isoformat()},
        )
    ).json()
    expected = whole["approvals"]["approved"]

    async def shown() -> bool:
        metrics = (await rampart.admin.get("/metrics")).text
        found = re.search(r'^rampart_approvals\{status="approved"\} (\S+)$', metrics, re.M)
        return found is not None and float(found[1]) == expected

    await eventually(shown)


async def _breached(rampart: Rampart, event_id: UUID) -> bool:
    return any(t["status"] == "breached" for t in await _slas(rampart, event_id))


async def _stopped(rampart: Rampart, event_id: UUID) -> bool:
    return any(t["stopped_at"] is not None for t in await _slas(rampart, event_id))


async def test_a_range_that_ends_before_it_starts_is_refused(rampart: Rampart) -> None:
    answer = await rampart.admin.get(
        "/api/v1/reports/sla",
        params={"since": "2026-12-02T00:00:00Z", "until": "2026-12-01T00:00:00Z"},
    )
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "until"
