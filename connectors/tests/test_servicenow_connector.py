"""The servicenow connector against a fake instance that follows ServiceNow's Table API docs.

Documents the fake follows (cited in full in ``fakes/servicenow.py``): "Update the incident",
https://www.servicenow.com/docs/r/yokohama/api-reference/rest-api-explorer/get-started-update-incident.html;
"REST API HTTP response codes" (ServiceNow docs, REST API Explorer).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from connectors.tests.fakes.servicenow import FakeServiceNow
from rampart.connectors.servicenow import ServiceNowConnector
from rampart.sdk.connector import ActionError, TargetUnavailable
from rampart.sdk.testing import ConnectorHarness

URL = "https://example.service-now.com"


def harness(fake: FakeServiceNow, **config: Any) -> ConnectorHarness[ServiceNowConnector]:
    return ConnectorHarness(
        ServiceNowConnector,
        {"url": URL, "username": fake.username, "password": fake.password, **config},
        http=httpx.ASGITransport(app=fake.app()),
    )


def test_the_declaration_matches_the_catalog() -> None:
    harness(FakeServiceNow()).check()


async def test_create_then_update_an_incident() -> None:
    fake = FakeServiceNow()
    h = harness(fake)
    created = await h.run(
        "create ticket",
        title="Malware on web-01",
        description="EDR alert",
        priority="critical",
        fields={"assignment_group": "SOC"},
    )
    ticket = created.model_dump()
    assert ticket["number"] == "INC0010001"
    assert ticket["state"] == "1"
    record = fake.records[ticket["sys_id"]]
    assert record["short_description"] == "Malware on web-01"
    assert (record["impact"], record["urgency"], record["assignment_group"]) == ("1", "1", "SOC")
    assert "INC0010001" in h.render("create ticket", created)
    updated = await h.run(
        "update ticket", ticket="INC0010001", comment="host isolated", status="In Progress"
    )
    assert updated.model_dump()["state"] == "2"
    assert fake.patches == [{"work_notes": "host isolated", "state": "2"}]
    assert record["_work_notes"] == ["host isolated"]


async def test_an_unknown_state_is_refused_before_any_change() -> None:
    fake = FakeServiceNow()
    await harness(fake).run("create ticket", title="x")
    with pytest.raises(ActionError, match="unknown ServiceNow state 'Parked'"):
        await harness(fake).run("update ticket", ticket="INC0010001", status="Parked")
    assert fake.patches == []


async def test_an_unknown_ticket_is_an_action_error() -> None:
    with pytest.raises(ActionError, match="no incident record 'INC0099999'"):
        await harness(FakeServiceNow()).run("update ticket", ticket="INC0099999", comment="x")


async def test_a_wrong_password_is_servicenows_message_without_the_password() -> None:
    wrong = "not-the-password-123"
    with pytest.raises(ActionError) as caught:
        await harness(FakeServiceNow(), password=wrong).run("create ticket", title="x")
    assert "401: User Not Authenticated" in str(caught.value)
    assert wrong not in str(caught.value)


async def test_429_is_transient_with_its_retry_after() -> None:
    with pytest.raises(TargetUnavailable) as caught:
        await harness(FakeServiceNow(throttle=1)).run("create ticket", title="x")
    assert caught.value.retry_after == 11.0
