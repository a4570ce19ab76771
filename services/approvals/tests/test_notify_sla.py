"""An event's owner hears of its SLA: the warning and the breach reach them through their own
channels, by the same notification rows, worker, retries and fallback as approvals' assignees.

The SMTP server is a real one (aiosmtpd); Slack, Teams and the webhook receiver are the local
fakes of ``_notify_fakes`` (which cites the vendors' documents they follow).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from rampart.approvals.notify import store
from rampart.core.auth import Role
from rampart.core.messages import EventIngested, EventUpdated, SlaNotified
from services.approvals.tests._harness import Rampart, eventually
from services.approvals.tests._notify_fakes import (
    WEBHOOK_SECRET,
    Chat,
    Mailbox,
    chat,
    contact_owner,
    notify_env,
    smtp,
    verify_standard_webhook,
)

__all__ = ["chat", "notify_env", "smtp"]


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid4().hex[:8]}"


async def _owned_event(rampart: Rampart, owner_id: UUID, minutes: int) -> UUID:
    """An event due in ``minutes`` whose owner is ``owner_id``, once its clock knows the owner."""
    event_id = uuid4()
    await rampart.send(
        EventIngested(
            event_id=event_id, source="splunk", name="malware on web-01", severity="high",
            due_at=rampart.clock.now() + timedelta(minutes=minutes),
        )
    )  # fmt: skip

    async def owner() -> list[str | None]:
        found = await rampart.services.pool.fetchrow(
            f"SELECT owner FROM {store.SCHEMA}.sla_timers WHERE subject_id = $1", event_id
        )
        return [] if found is None else [found["owner"]]

    await eventually(owner)  # the clock runs; then an analyst takes the event
    await rampart.send(EventUpdated(event_id=event_id, changes={"owner": str(owner_id)}))
    await eventually(lambda: _is(owner, str(owner_id)))
    return event_id


async def _is(read: Any, value: str) -> bool:
    return bool(await read() == [value])


def _told(rampart: Rampart, event_id: UUID) -> list[SlaNotified]:
    return [m for m in rampart.messages(SlaNotified) if m.subject_id == event_id]


async def test_an_events_owner_is_emailed_its_warning_and_its_breach(
    notify_env: Mailbox, rampart: Rampart
) -> None:
    name = _name("carol")
    address = f"{name}@soc.example"
    carol = await contact_owner(rampart, name, email=address)
    event_id = await _owned_event(rampart, carol.id, minutes=10)

    rampart.clock.advance(timedelta(minutes=8))
    warning = (await eventually(lambda: notify_env.to(address)))[0]
    assert warning.message["Subject"] == "SLA warning, 2 min left: Event malware on web-01"
    assert warning.message["From"] == "rampart@soc.example"
    assert f"Event id: {event_id}" in warning.text
    assert "Severity: high" in warning.text
    assert "malware on web-01" in warning.html
    told = await eventually(lambda: _told(rampart, event_id))
    assert [(m.reason, m.channel, m.delivered, m.recipient) for m in told] == [
        ("warning", "email", True, str(carol.id))
    ]

    rampart.clock.advance(timedelta(minutes=2))
    mails = await eventually(lambda: len(notify_env.to(address)) == 2 and notify_env.to(address))
    assert mails[1].message["Subject"] == "SLA breached: Event malware on web-01"
    told = await eventually(lambda: len(_told(rampart, event_id)) == 2 and _told(rampart, event_id))
    assert [(m.reason, m.channel, m.delivered) for m in told] == [
        ("warning", "email", True),
        ("breach", "email", True),
    ]
    assert told[1].timer_id == told[0].timer_id
    assert (told[1].subject_kind, told[1].event_id) == ("event", event_id)
    rows = await rampart.services.pool.fetch(
        f"SELECT reason, status, channel FROM {store.SCHEMA}.approval_notifications "
        "WHERE timer_id = $1 ORDER BY created_at",
        told[0].timer_id,
    )
    assert [tuple(r) for r in rows] == [
        ("warning", "delivered", "email"),
        ("breach", "delivered", "email"),
    ]


async def test_a_breach_falls_back_from_a_refusing_teams_to_the_signed_webhook(
    notify_env: Mailbox, chat: Chat, rampart: Rampart
) -> None:
    name = _name("dave")
    teams = f"{name}-teams"
    dave = await contact_owner(
        rampart, name, teams_webhook_url=chat.teams(teams), webhook_url=chat.hook(name)
    )
    # Teams refuses the card for good: retrying cannot help, so the next channel takes over
    chat.failing[teams] = 400
    event_id = await _owned_event(rampart, dave.id, minutes=10)
    rampart.clock.advance(timedelta(minutes=10))

    told = await eventually(
        lambda: [m for m in _told(rampart, event_id) if m.reason == "breach" and m.delivered]
    )
    assert told[0].channel == "webhook"
    outcomes = [(m.reason, m.channel, m.delivered) for m in _told(rampart, event_id)]
    assert ("breach", "teams", False) in outcomes
    [posted] = [r for r in chat.got("hooks", name) if r.json["type"] == "sla.breach"]
    assert verify_standard_webhook(posted.headers, posted.body, WEBHOOK_SECRET) == ""
    data: dict[str, Any] = posted.json["data"]
    assert (data["subject_kind"], data["event_id"]) == ("event", str(event_id))
    assert data["summary"] == "SLA breached: Event malware on web-01"
    assert [r.accepted for r in chat.got("teams", teams)] == [False]


@pytest.mark.parametrize("named_by", ["id", "name"])
async def test_an_event_owned_through_ingests_api_emails_its_owner_warning_and_breach(
    notify_env: Mailbox, rampart: Rampart, named_by: str
) -> None:
    name = _name("frank")
    address = f"{name}@soc.example"
    frank = await contact_owner(rampart, name, email=address)
    async with rampart.services.client(Role.ANALYST) as analyst:
        made = await analyst.post(
            "/api/v1/events",
            json={"name": "beacon from lab-07", "source": "api-test", "severity": "high"},
        )
        assert made.status_code == 202, made.text
        event_id = UUID(made.json()["id"])

        async def clock() -> list[Any]:
            found = await rampart.admin.get(
                "/api/v1/slas", params={"subject_id": str(event_id), "subject_kind": "event"}
            )
            assert found.status_code == 200, found.text
            return list(found.json())

        [timer] = await eventually(clock)
        # an analyst names the owner as the registry knows them: by id or by name
        given = str(frank.id) if named_by == "id" else name
        taken = await analyst.patch(f"/api/v1/events/{event_id}", json={"owner": given})
        assert taken.status_code == 200, taken.text

        async def owner() -> list[str | None]:
            found = await rampart.services.pool.fetchrow(
                f"SELECT owner, owner_id FROM {store.SCHEMA}.sla_timers WHERE subject_id = $1",
                event_id,
            )
            if found is None or found["owner"] != given:
                return []
            # a name is looked up in the registry apart from the clock: wait for it
            return [str(found["owner_id"] or found["owner"])]

        await eventually(lambda: _is(owner, str(frank.id)))
        # ingest gives a high event an hour: past four fifths of it, its owner is warned
        rampart.clock.advance(timedelta(minutes=50))
        [warning] = await eventually(lambda: notify_env.to(address))
        assert warning.message["Subject"].startswith("SLA warning, ")
        assert warning.message["Subject"].endswith("left: Event beacon from lab-07")
        assert f"Event id: {event_id}" in warning.text

        rampart.clock.advance(timedelta(minutes=15))
        mails = await eventually(
            lambda: len(notify_env.to(address)) == 2 and notify_env.to(address)
        )
        assert mails[1].message["Subject"] == "SLA breached: Event beacon from lab-07"
        told = await eventually(
            lambda: len(_told(rampart, event_id)) == 2 and _told(rampart, event_id)
        )
        assert [(m.reason, m.channel, m.delivered, m.recipient) for m in told] == [
            ("warning", "email", True, str(frank.id)),
            ("breach", "email", True, str(frank.id)),
        ]
        assert told[0].timer_id == UUID(timer["id"])

        async def marked() -> Any:
            detail = await analyst.get(f"/api/v1/events/{event_id}")
            assert detail.status_code == 200, detail.text
            return detail.json()["sla_breached_at"]

        await eventually(marked)
