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
    SPLUNK_DOCS_ALERT,
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


async def test_the_webhook_body_exactly_as_splunks_docs_show_it(ingest: Ingest) -> None:
    source = await ingest.make_source(kind="splunk")
    response = await ingest.post_signed(source, SPLUNK_DOCS_ALERT)
    assert response.status_code == 202, response.text
    event = await ingest.event(response.json()["events"][0]["id"])
    assert event["name"] == "Splunk alert (search/admin)"
    assert event["source_ref"] == SPLUNK_DOCS_ALERT["sid"]
    assert event["data"] == SPLUNK_DOCS_ALERT


async def test_a_notable_without_event_id_merges_by_splunks_identifiers(ingest: Ingest) -> None:
    source = await ingest.make_source(kind="splunk")
    notable = {k: v for k, v in ES_NOTABLE.items() if k != "event_id"}
    by_search = {**notable, "orig_sid": "scheduler__nobody__c2VhcmNo__RMD5_at_1714557600_42",
                 "orig_rid": "3"}  # fmt: skip
    by_hash = {**notable, "event_hash": "9f2c3e1d0b7a6c5e4f3a2b1c0d9e8f7a"}
    by_address = {**notable, "index": "notable", "_bkt": "notable~12~A1B2", "_cd": "12:3456"}
    for shape in (by_search, by_hash, by_address):
        first = await ingest.post_signed(source, shape)
        again = await ingest.post_signed(source, {**shape, "urgency": "low"})
        assert first.status_code == again.status_code == 202, first.text
        [made], [merged] = first.json()["events"], again.json()["events"]
        assert made["created"] is True
        assert merged == {**made, "created": False}, "a resent notable merges"
    refs = await ingest.harness.pool.fetch(
        "SELECT source_ref FROM ingest.events WHERE source = $1 ORDER BY 1", source["name"]
    )
    assert [r["source_ref"] for r in refs] == [
        "cd:notable:notable~12~A1B2:12:3456",
        "event_hash:9f2c3e1d0b7a6c5e4f3a2b1c0d9e8f7a",
        "orig:scheduler__nobody__c2VhcmNo__RMD5_at_1714557600_42:3",
    ]


async def test_every_cim_field_that_maps_to_cef_becomes_an_artifact(ingest: Ingest) -> None:
    source = await ingest.make_source(kind="splunk")
    notable = {
        **ES_NOTABLE,
        "event_id": "cim-all-1",
        "dest": "db-01.corp.example.com",
        "dest_ip": "10.0.0.9",
        "src": "198.51.100.23",
        "src_ip": "198.51.100.24",
        "src_host": "laptop-7",
        "src_nt_host": "LAPTOP-7-NT",
        "sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    }
    response = await ingest.post_signed(source, notable)
    assert response.status_code == 202, response.text
    event = await ingest.event(response.json()["events"][0]["id"])
    values = {(k, v) for a in event["artifacts"] for k, v in a["cef"].items()}
    assert {
        ("destinationHostName", "db-01.corp.example.com"),
        ("destinationAddress", "10.0.0.9"),
        ("sourceAddress", "198.51.100.23"),
        ("sourceAddress", "198.51.100.24"),
        ("sourceHostName", "laptop-7"),
        ("sourceHostName", "LAPTOP-7-NT"),
        ("fileHash", "44d88612fea8a8f36de82e1278abb02f"),
        ("fileHash", notable["sha256"]),
        ("destinationUserName", "CORP\\bob"),
    } <= values
