"""A workbook's phases on the SLA clock, end to end: ingest announces each phase it starts and
completes, the approvals service runs a clock for each, warns and breaches the ones left
undone, tells their owner (named as the registry knows them) by e-mail (a real SMTP server,
aiosmtpd), and ingest marks the breached phase. Every service runs, on the in-process bus and
on RabbitMQ; the approvals service's clock is moved by hand.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx

from rampart.core.auth import Role
from rampart.core.messages import SlaBreached, SlaNotified, SlaWarning
from services.approvals.tests._harness import Rampart, eventually
from services.approvals.tests._notify_fakes import Mail, Mailbox, contact_owner, notify_env, smtp

__all__ = ["notify_env", "smtp"]


async def _phase_clocks(admin: httpx.AsyncClient, event_id: str) -> dict[str, dict[str, Any]]:
    found = await admin.get("/api/v1/slas", params={"event_id": event_id, "subject_kind": "phase"})
    assert found.status_code == 200, found.text
    return {t["subject_id"]: t for t in found.json()}


def _about(mails: list[Mail], phase_id: str) -> list[Mail]:
    return [m for m in mails if phase_id in m.text]


async def test_a_workbooks_phases_are_timed_warned_breached_and_their_owner_told(
    notify_env: Mailbox, rampart: Rampart
) -> None:
    name = f"erin-{uuid4().hex[:8]}"
    address = f"{name}@soc.example"
    erin = await contact_owner(rampart, name, email=address)
    async with rampart.services.client(Role.ANALYST) as analyst:
        made = await analyst.post(
            "/api/v1/events", json={"name": "ransomware on db-02", "source": "api-test"}
        )
        assert made.status_code == 202, made.text
        event_id = str(made.json()["id"])
        applied = await analyst.post(
            f"/api/v1/events/{event_id}/workbook",
            json={"template": "nist-800-61", "owner": name},
        )
        assert applied.status_code == 201, applied.text
        phases = {p["name"]: p for p in applied.json()}
        detection, containment = phases["Detection & Analysis"], phases["Containment"]

        # every phase ingest started has a running clock due when ingest said it is due
        clocks = await eventually(
            lambda: _when(_phase_clocks(rampart.admin, event_id), lambda c: len(c) == 5)
        )
        assert set(clocks) == {p["id"] for p in phases.values()}
        for phase in phases.values():
            clock = clocks[phase["id"]]
            assert clock["status"] == "pending"
            assert _time(clock["due_at"]) == _time(phase["due_at"])

        # the phases' owner is named as the registry knows them; the name is looked up apart
        async def owner_found() -> bool:
            found = await rampart.services.pool.fetchval(
                "SELECT owner_id FROM approvals.sla_timers WHERE subject_id = $1",
                UUID(containment["id"]),
            )
            return bool(found == erin.id)

        await eventually(owner_found)

        # the first phase is done when its tasks are: ingest says so, and its clock stops
        for task in detection["tasks"]:
            done = await analyst.post(
                f"/api/v1/events/{event_id}/tasks/{task['id']}/complete", json={"note": "done"}
            )
            assert done.status_code == 200, done.text
        await eventually(
            lambda: _when(
                _phase_clocks(rampart.admin, event_id),
                lambda c: c[detection["id"]]["status"] == "cancelled",
            )
        )

        # past four fifths of the containment's four hours: its owner is warned
        rampart.clock.advance(timedelta(minutes=200))
        [warning] = await eventually(lambda: _about(notify_env.to(address), containment["id"]))
        assert warning.message["Subject"].startswith("SLA warning, ")
        assert "left: Workbook phase" in warning.message["Subject"]
        assert f"Event id: {event_id}" in warning.text
        warned = await eventually(lambda: _of(rampart, SlaWarning, containment["id"]))
        assert [(w.subject_kind, str(w.event_id)) for w in warned] == [("phase", event_id)]

        # past its due time: breached, announced once, its owner told, ingest marks the phase
        rampart.clock.advance(timedelta(minutes=60))
        mails = await eventually(
            lambda: _enough(_about(notify_env.to(address), containment["id"]), 2)
        )
        assert mails[1].message["Subject"].startswith("SLA breached: Workbook phase")
        [breach] = await eventually(lambda: _of(rampart, SlaBreached, containment["id"]))
        assert (breach.subject_kind, str(breach.event_id)) == ("phase", event_id)
        assert _time(breach.due_at.isoformat()) == _time(containment["due_at"])
        told = await eventually(
            lambda: _enough(
                [m for m in _of(rampart, SlaNotified, containment["id"]) if m.delivered], 2
            )
        )
        assert [(m.reason, m.channel, m.recipient) for m in told] == [
            ("warning", "email", str(erin.id)),
            ("breach", "email", str(erin.id)),
        ]

        async def marked() -> dict[str, Any] | None:
            detail = await analyst.get(f"/api/v1/events/{event_id}")
            assert detail.status_code == 200, detail.text
            by_id = {p["id"]: p for p in detail.json()["workbook"]}
            return by_id if by_id[containment["id"]]["sla_breached_at"] else None

        workbook = await eventually(marked)
        # the phase done in time neither warned nor breached, and nobody was told of it
        assert workbook[detection["id"]]["sla_breached_at"] is None
        assert _of(rampart, SlaBreached, detection["id"]) == []
        assert _of(rampart, SlaWarning, detection["id"]) == []
        assert _about(notify_env.mails, detection["id"]) == []
        clocks = await _phase_clocks(rampart.admin, event_id)
        assert clocks[detection["id"]]["status"] == "cancelled"
        assert clocks[containment["id"]]["status"] == "breached"
        assert clocks[phases["Eradication"]["id"]]["status"] == "pending"


def _of(rampart: Rampart, kind: type[Any], subject_id: str) -> list[Any]:
    return [m for m in rampart.messages(kind) if str(m.subject_id) == subject_id]


def _enough(found: list[Any], count: int) -> list[Any]:
    return found if len(found) >= count else []


async def _when(read: Any, ready: Any) -> Any:
    found = await read
    return found if ready(found) else None


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
