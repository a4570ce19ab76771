"""Splunk through the webhook: a webhook alert action and an Enterprise Security notable."""

from __future__ import annotations

import time
from typing import Any

from rampart.core.auth import Role
from rampart.core.messages import EventIngested, EventUpdated
from services.ingest.tests._ingest_api import Ingest
from services.ingest.tests._payloads import (
    ES_NOTABLE,
    SPLUNK_ALERT,
    cef_values,
    contains_by_field,
)
from tests.harness import PROBLEM


async def _first_alert(ingest: Ingest) -> tuple[dict[str, Any], str]:
    source = await ingest.make_source(kind="splunk", default_labels=["splunk"])
    first = await ingest.post_signed(source, SPLUNK_ALERT)
    assert first.status_code == 202, first.text
    body = first.json()
    assert body["accepted"] == 1
    assert body["errors"] == []
    assert body["events"][0]["created"] is True
    return source, body["events"][0]["id"]


async def test_a_splunk_alert_is_one_event(ingest: Ingest) -> None:
    source, event_id = await _first_alert(ingest)
    event = await ingest.event(event_id)
    assert event["name"] == "Brute force then success"
    assert event["source"] == source["name"]
    assert event["source_ref"] == SPLUNK_ALERT["sid"]
    assert event["severity"] == "high"
    assert event["labels"] == ["splunk"]
    assert event["occurred_at"].startswith("2023-11-14T22:13:20")
    assert event["data"]["results_link"] == SPLUNK_ALERT["results_link"]
    cef = cef_values(event["artifacts"])
    assert cef["sourceAddress"] == "203.0.113.7"
    assert cef["destinationHostName"] == "web-01.corp.example.com"
    assert cef["destinationUserName"] == "alice"
    kinds = contains_by_field(event["artifacts"])
    assert kinds["sourceAddress"] == ["ip"]
    assert "host name" in kinds["destinationHostName"]
    assert kinds["destinationUserName"] == ["user name"]


async def test_a_splunk_alert_is_announced_with_its_due_time(ingest: Ingest) -> None:
    _, event_id = await _first_alert(ingest)
    [ingested] = await ingest.captured.wait_for("event.ingested")
    assert isinstance(ingested, EventIngested)
    assert str(ingested.event_id) == event_id
    assert ingested.due_at is not None
    minutes = (ingested.due_at.timestamp() - time.time()) / 60
    assert 55 < minutes <= 60, "high severity is due in 60 minutes by default"
    assert ingested.artifact_count == 1


async def test_a_splunk_resend_merges_into_its_event(ingest: Ingest) -> None:
    source, event_id = await _first_alert(ingest)
    resend = {
        **SPLUNK_ALERT,
        "result": {**SPLUNK_ALERT["result"], "urgency": "critical", "src": "203.0.113.99"},
    }
    again = await ingest.post_signed(source, resend)
    assert again.status_code == 202, again.text
    assert again.json()["events"][0] == {"index": 0, "id": event_id, "created": False}
    merged = await ingest.event(event_id)
    assert merged["severity"] == "critical"
    assert {a["cef"].get("sourceAddress") for a in merged["artifacts"]} == {
        "203.0.113.7",
        "203.0.113.99",
    }
    [updated] = await ingest.captured.wait_for("event.updated")
    assert isinstance(updated, EventUpdated)
    assert updated.changes["severity"] == "critical"
    assert updated.changes["artifacts_added"] == 1
    assert len(ingest.captured.of("event.ingested")) == 1


async def test_an_enterprise_security_notable_with_a_bearer_secret(ingest: Ingest) -> None:
    source = await ingest.make_source(kind="splunk", auth="bearer")
    response = await ingest.client.post(
        f"/api/v1/ingest/{source['name']}",
        json=ES_NOTABLE,
        headers={"Authorization": f"Bearer {source['secret']}"},
    )
    assert response.status_code == 202, response.text
    event = await ingest.event(response.json()["events"][0]["id"])
    assert event["name"] == "Excessive Failed Logins"
    assert event["source_ref"] == ES_NOTABLE["event_id"]
    assert event["severity"] == "critical"
    kinds = contains_by_field(event["artifacts"])
    assert kinds["fileHash"] == ["hash", "md5"]
    assert kinds["destinationAddress"] == ["ip"]
    assert "user name" in kinds["destinationUserName"]


async def test_a_wrong_bearer_secret_is_401(ingest: Ingest) -> None:
    source = await ingest.make_source(kind="splunk", auth="bearer")
    url = f"/api/v1/ingest/{source['name']}"
    wrong = await ingest.client.post(url, json=ES_NOTABLE, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert wrong.headers["content-type"] == PROBLEM


async def test_a_rampart_token_is_not_the_sources_secret(ingest: Ingest) -> None:
    source = await ingest.make_source(kind="splunk", auth="bearer")
    url = f"/api/v1/ingest/{source['name']}"
    token = await ingest.client.post(
        url, json=ES_NOTABLE, headers=ingest.harness.headers(Role.ADMIN)
    )
    assert token.status_code == 401, "a Rampart token is not the source's secret"
