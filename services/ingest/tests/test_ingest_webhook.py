"""The webhook end to end in one process: each adapter, authentication, batches and resends.

Payloads follow the vendors' documents:
- Splunk: "Use a webhook alert action" (Splunk Enterprise Alerting Manual) for the body
  ``{"result", "sid", "results_link", "search_name", "owner", "app"}``, and the Enterprise
  Security notable fields (``rule_name``, ``urgency``, ``src``, ``dest``, ``user``, ``event_id``).
- IBM QRadar: the offense object of ``GET /api/siem/offenses`` (QRadar REST API reference).
- ArcSight: "Implementing ArcSight Common Event Format (CEF)" for the header and escapes.
- Standard Webhooks specification for ``webhook-id``/``webhook-timestamp``/``webhook-signature``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from rampart.core.auth import Role
from rampart.core.messages import EventIngested, EventUpdated
from services.ingest.tests._ingest_helpers import PROBLEM, IngestApp, running_ingest


@pytest.fixture
async def ingest(database_url: str, pool: Any, namespace: str) -> AsyncIterator[IngestApp]:
    async for app in running_ingest(database_url, pool, namespace):
        yield app


SPLUNK_ALERT = {
    "result": {
        "sourcetype": "WinEventLog:Security",
        "count": "8",
        "src": "203.0.113.7",
        "dest": "web-01.corp.example.com",
        "user": "alice",
        "urgency": "high",
        "_time": "1700000000.000",
    },
    "sid": "scheduler__admin__search__W2_at_1427942640_178",
    "results_link": "http://splunk.example.local:8000/app/search/@go?sid=scheduler__admin__search__W2_at_1427942640_178",
    "search_name": "Brute force then success",
    "owner": "admin",
    "app": "search",
}

ES_NOTABLE = {
    "rule_name": "Excessive Failed Logins",
    "rule_title": "Excessive Failed Logins from 198.51.100.23",
    "urgency": "critical",
    "security_domain": "access",
    "src": "198.51.100.23",
    "dest": "10.0.0.5",
    "user": "CORP\\bob",
    "event_id": "0A1B2C3D-1111-2222-3333-444455556666@@notable@@e2c3f1c2d4",
    "_time": "2024-05-01T10:00:00+00:00",
    "file_hash": "44d88612fea8a8f36de82e1278abb02f",
}

# the shape of one element of GET /api/siem/offenses
QRADAR_OFFENSE = {
    "id": 4242,
    "description": "Multiple Login Failures for the Same User\n containing Failure Audit",
    "assigned_to": None,
    "categories": ["User Login Failure", "Misc Login Failed"],
    "category_count": 2,
    "policy_category_count": 0,
    "security_category_count": 2,
    "close_time": None,
    "closing_user": None,
    "closing_reason_id": None,
    "credibility": 3,
    "relevance": 5,
    "severity": 8,
    "magnitude": 9,
    "destination_networks": ["Net-10-172-192.Net_10_0_0_0"],
    "source_network": "other",
    "device_count": 1,
    "event_count": 12,
    "flow_count": 0,
    "inactive": False,
    "last_updated_time": 1700000100000,
    "local_destination_count": 1,
    "offense_source": "192.0.2.44",
    "offense_type": 0,
    "protected": False,
    "follow_up": False,
    "remote_destination_count": 0,
    "source_count": 1,
    "start_time": 1700000000000,
    "status": "OPEN",
    "username_count": 1,
    "source_address_ids": [17],
    "local_destination_address_ids": [3],
    "domain_id": 0,
    "first_persisted_time": 1700000000500,
    "last_persisted_time": 1700000100500,
    "log_sources": [
        {"type_name": "EventCRE", "type_id": 18, "name": "Custom Rule Engine-8", "id": 63}
    ],
    "rules": [{"id": 100045, "type": "CRE_RULE"}],
}

CEF_LINES = (
    "CEF:0|Security|threatmanager|1.0|100|worm successfully stopped|10|src=10.0.0.1 "
    "dst=2.1.2.2 spt=1232 externalId=tm-100\n"
    "CEF:0|Vendor\\|Inc|Prod\\\\uct|2.0|sig-7|Suspicious \\| process|Very-High|"
    "shost=ws-042 suser=CORP\\\\carol spid=4711 sproc=evil.exe "
    "fileHash=da39a3ee5e6b4b0d3255bfef95601890afd80709 msg=first line\\nsecond a\\=b "
    "cs1Label=Ticket cs1=INC 0042 request=https://bad.example.net/payload?x\\=1 "
    "externalId=tm-101\n"
)


def _cef_values(artifacts: list[dict[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for artifact in artifacts:
        merged.update(artifact["cef"])
    return merged


def _contains(artifacts: list[dict[str, Any]]) -> dict[str, list[str]]:
    merged: dict[str, list[str]] = {}
    for artifact in artifacts:
        merged.update(artifact["contains"])
    return merged


async def test_splunk_alert_is_one_event_and_a_resend_merges(ingest: IngestApp) -> None:
    source = await ingest.make_source(kind="splunk", default_labels=["splunk"])
    first = await ingest.post_signed(source, SPLUNK_ALERT)
    assert first.status_code == 202, first.text
    body = first.json()
    assert body["accepted"] == 1
    assert body["errors"] == []
    event_id = body["events"][0]["id"]
    assert body["events"][0]["created"] is True

    event = await ingest.event(event_id)
    assert event["name"] == "Brute force then success"
    assert event["source"] == source["name"]
    assert event["source_ref"] == SPLUNK_ALERT["sid"]
    assert event["severity"] == "high"
    assert event["labels"] == ["splunk"]
    assert event["occurred_at"].startswith("2023-11-14T22:13:20")
    assert event["data"]["results_link"] == SPLUNK_ALERT["results_link"]
    cef = _cef_values(event["artifacts"])
    assert cef["sourceAddress"] == "203.0.113.7"
    assert cef["destinationHostName"] == "web-01.corp.example.com"
    assert cef["destinationUserName"] == "alice"
    kinds = _contains(event["artifacts"])
    assert kinds["sourceAddress"] == ["ip"]
    assert "host name" in kinds["destinationHostName"]
    assert kinds["destinationUserName"] == ["user name"]

    [ingested] = await ingest.wait_for("event.ingested")
    assert isinstance(ingested, EventIngested)
    assert str(ingested.event_id) == event_id
    assert ingested.due_at is not None
    minutes = (ingested.due_at.timestamp() - time.time()) / 60
    assert 55 < minutes <= 60, "high severity is due in 60 minutes by default"
    assert ingested.artifact_count == 1

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
    [updated] = await ingest.wait_for("event.updated")
    assert isinstance(updated, EventUpdated)
    assert updated.changes["severity"] == "critical"
    assert updated.changes["artifacts_added"] == 1
    assert len(ingest.captured.of("event.ingested")) == 1


async def test_enterprise_security_notable_with_a_bearer_secret(ingest: IngestApp) -> None:
    source = await ingest.make_source(kind="splunk", auth="bearer")
    url = f"/api/v1/ingest/{source['name']}"
    response = await ingest.client.post(
        url, json=ES_NOTABLE, headers={"Authorization": f"Bearer {source['secret']}"}
    )
    assert response.status_code == 202, response.text
    event = await ingest.event(response.json()["events"][0]["id"])
    assert event["name"] == "Excessive Failed Logins"
    assert event["source_ref"] == ES_NOTABLE["event_id"]
    assert event["severity"] == "critical"
    kinds = _contains(event["artifacts"])
    assert kinds["fileHash"] == ["hash", "md5"]
    assert kinds["destinationAddress"] == ["ip"]
    assert "user name" in kinds["destinationUserName"]
    wrong = await ingest.client.post(url, json=ES_NOTABLE, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert wrong.headers["content-type"] == PROBLEM
    token = await ingest.client.post(url, json=ES_NOTABLE, headers=ingest.auth(Role.ADMIN))
    assert token.status_code == 401, "a Rampart token is not the source's secret"


async def test_qradar_offense_pushed(ingest: IngestApp) -> None:
    source = await ingest.make_source(kind="qradar", severity_map={"9": "high"})
    response = await ingest.post_signed(source, [QRADAR_OFFENSE])
    assert response.status_code == 202, response.text
    event = await ingest.event(response.json()["events"][0]["id"])
    assert event["name"] == "Multiple Login Failures for the Same User containing Failure Audit"
    assert event["source_ref"] == "4242"
    assert event["severity"] == "high", "the source's map wins over the default scale"
    assert event["occurred_at"].startswith("2023-11-14T22:13:20")
    assert _cef_values(event["artifacts"]) == {"sourceAddress": "192.0.2.44"}
    assert event["data"]["magnitude"] == 9

    default = await ingest.make_source(kind="qradar")
    for magnitude, expected in ((2, "low"), (5, "medium"), (7, "high"), (10, "critical")):
        offense = {**QRADAR_OFFENSE, "id": 9000 + magnitude, "magnitude": magnitude}
        posted = await ingest.post_signed(default, offense)
        assert (await ingest.event(posted.json()["events"][0]["id"]))["severity"] == expected


async def test_arcsight_cef_lines_with_every_escape(ingest: IngestApp) -> None:
    source = await ingest.make_source(kind="arcsight")
    response = await ingest.post_signed(source, CEF_LINES.encode(), content_type="text/plain")
    assert response.status_code == 202, response.text
    results = response.json()["events"]
    assert [r["index"] for r in results] == [0, 1]
    first = await ingest.event(results[0]["id"])
    assert first["name"] == "worm successfully stopped"
    assert first["severity"] == "critical"
    assert first["source_ref"] == "tm-100"
    second = await ingest.event(results[1]["id"])
    assert second["name"] == "Suspicious | process"
    assert second["severity"] == "critical", "Very-High"
    cef = _cef_values(second["artifacts"])
    assert cef["deviceVendor"] == "Vendor|Inc"
    assert cef["deviceProduct"] == "Prod\\uct"
    assert cef["sourceUserName"] == "CORP\\carol"
    assert cef["message"] == "first line\nsecond a=b"
    assert cef["cs1Label"] == "Ticket"
    assert cef["cs1"] == "INC 0042"
    assert cef["requestURL"] == "https://bad.example.net/payload?x=1"
    kinds = _contains(second["artifacts"])
    assert kinds["sourceProcessId"] == ["process id"]
    assert kinds["sourceProcessName"] == ["process name"]
    assert kinds["fileHash"] == ["hash", "sha1"]
    assert kinds["requestURL"] == ["url"]
    assert "host name" in kinds["sourceHostName"]


async def test_a_batch_stores_the_good_and_reports_the_bad(ingest: IngestApp) -> None:
    source = await ingest.make_source(kind="arcsight")
    text = (
        "CEF:0|V|P|1|1|good one|3|externalId=b-1\n"
        "\n"
        "this is not CEF\n"
        "CEF:0|V|P|1|only four fields\n"
        "CEF:0|V|P|1|2|good two|5|src=10.1.1.1 externalId=b-2\n"
    )
    response = await ingest.post_signed(source, text.encode(), content_type="text/plain")
    assert response.status_code == 202, response.text
    body = response.json()
    assert [e["index"] for e in body["events"]] == [0, 3]
    assert [(e["index"], e["line"]) for e in body["errors"]] == [(1, 3), (2, 4)]
    assert "CEF:" in body["errors"][0]["detail"]
    assert "4 of 7" in body["errors"][1]["detail"]

    bad = await ingest.post_signed(source, b"nothing here\n", content_type="text/plain")
    assert bad.status_code == 422
    assert bad.headers["content-type"] == PROBLEM
    assert bad.json()["errors"][0]["line"] == 1
    assert "line 1" in bad.json()["detail"]

    splunk = await ingest.make_source(kind="splunk")
    mixed = await ingest.post_signed(splunk, [ES_NOTABLE, {"urgency": "low"}, 7])
    assert mixed.status_code == 202
    errors = mixed.json()["errors"]
    assert [e["index"] for e in errors] == [1, 2]
    assert "rule_name" in errors[0]["field"]
    malformed = await ingest.post_signed(splunk, b'{"result": ')
    assert malformed.status_code == 422
    assert "malformed JSON" in malformed.json()["detail"]


async def test_generic_json_through_its_mapping(ingest: IngestApp) -> None:
    mapping = {
        "events": "alerts",
        "name": "title",
        "source_ref": "id",
        "severity": "level",
        "occurred_at": "created",
        "labels": "tags",
        "artifacts": {
            "sourceAddress": "network.src",
            "destinationHostName": "network.dst_host",
            "fileHash": "file.sha256",
        },
    }
    source = await ingest.make_source(
        kind="generic", mapping=mapping, severity_map={"p1": "critical"}
    )
    payload = {
        "alerts": [
            {
                "id": "A-1",
                "title": "Ransomware note written",
                "level": "P1",
                "created": "2024-06-01T12:00:00Z",
                "tags": ["ransomware", "edr"],
                "network": {"src": ["10.9.9.9", "2001:db8::7"], "dst_host": "fs-01"},
                "file": {
                    "sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
                },
            },
            {"id": "A-2", "level": "P1"},
            {"id": "A-3", "title": "Bad time", "created": "yesterday-ish"},
        ]
    }
    response = await ingest.post_signed(source, payload)
    assert response.status_code == 202, response.text
    body = response.json()
    assert [e["index"] for e in body["events"]] == [0]
    assert [(e["index"], e["field"]) for e in body["errors"]] == [
        (1, "mapping.name"),
        (2, "mapping.occurred_at"),
    ]
    event = await ingest.event(body["events"][0]["id"])
    assert event["severity"] == "critical"
    assert event["labels"] == ["ransomware", "edr"]
    assert event["source_ref"] == "A-1"
    kinds = {
        k: v for a in event["artifacts"] for k, v in a["contains"].items() if k == "sourceAddress"
    }
    values = sorted(
        a["cef"]["sourceAddress"] for a in event["artifacts"] if "sourceAddress" in a["cef"]
    )
    assert values == ["10.9.9.9", "2001:db8::7"]
    assert kinds["sourceAddress"] in (["ip"], ["ip", "ipv6"])
    assert any(a["contains"].get("fileHash") == ["hash", "sha256"] for a in event["artifacts"])

    unreadable = await ingest.post_signed(source, {"alerts": "not a list"})
    assert unreadable.status_code == 422
    assert unreadable.json()["field"] == "mapping.events"


async def test_bad_signatures_stale_times_and_replays_store_nothing(ingest: IngestApp) -> None:
    source = await ingest.make_source(kind="splunk")
    notable = {**ES_NOTABLE, "event_id": "auth-test-1"}

    async def count() -> int:
        return int(
            await ingest.pool.fetchval(
                "SELECT count(*) FROM ingest.events WHERE source = $1", source["name"]
            )
        )

    other = await ingest.make_source(kind="splunk")
    wrong = await ingest.post_signed(source, notable, secret=other["secret"])
    assert wrong.status_code == 401
    assert "signature" in wrong.json()["detail"]
    stale = await ingest.post_signed(source, notable, timestamp=int(time.time()) - 301)
    assert stale.status_code == 401
    assert "timestamp" in stale.json()["detail"]
    future = await ingest.post_signed(source, notable, timestamp=int(time.time()) + 301)
    assert future.status_code == 401
    unsigned = await ingest.client.post(f"/api/v1/ingest/{source['name']}", json=notable)
    assert unsigned.status_code == 401
    assert unsigned.headers["www-authenticate"].startswith("Bearer")
    unknown = await ingest.post_signed({**source, "name": "no-such-source"}, notable)
    assert unknown.status_code == 401
    assert await count() == 0

    accepted = await ingest.post_signed(source, notable, webhook_id="msg_replay_1")
    assert accepted.status_code == 202
    replay = await ingest.post_signed(
        source, {**notable, "event_id": "auth-test-2"}, webhook_id="msg_replay_1"
    )
    assert replay.status_code == 401
    assert "replay" in replay.json()["detail"]
    assert await count() == 1


async def test_secret_rotation_keeps_the_old_one_for_its_grace(ingest: IngestApp) -> None:
    source = await ingest.make_source(kind="splunk")
    admin = ingest.auth(Role.ADMIN)
    rotated = await ingest.client.post(
        f"/api/v1/sources/{source['name']}/rotate-secret", json={"grace_minutes": 10}, headers=admin
    )
    assert rotated.status_code == 200, rotated.text
    new_secret = rotated.json()["secret"]
    assert new_secret != source["secret"]
    for secret in (source["secret"], new_secret):
        ok = await ingest.post_signed(source, ES_NOTABLE, secret=secret)
        assert ok.status_code == 202, ok.text
    listed = await ingest.client.get(f"/api/v1/sources/{source['name']}", headers=admin)
    assert len(listed.json()["secrets"]) == 2
    assert source["secret"] not in listed.text
    assert new_secret not in listed.text
    stored = await ingest.pool.fetch("SELECT secret_hash, sealed FROM ingest.source_secrets")
    for row in stored:
        assert source["secret"].encode() not in bytes(row["sealed"])
        assert new_secret.encode() not in bytes(row["sealed"])
    again = await ingest.client.post(
        f"/api/v1/sources/{source['name']}/rotate-secret", json={"grace_minutes": 0}, headers=admin
    )
    newest = again.json()["secret"]
    old = await ingest.post_signed(source, ES_NOTABLE, secret=new_secret)
    assert old.status_code == 401
    assert (await ingest.post_signed(source, ES_NOTABLE, secret=newest)).status_code == 202


async def test_sources_api_validates_and_needs_admin(ingest: IngestApp) -> None:
    admin = ingest.auth(Role.ADMIN)
    no_mapping = await ingest.client.post(
        "/api/v1/sources", json={"name": "gen-x", "kind": "generic"}, headers=admin
    )
    assert no_mapping.status_code == 422
    assert "mapping" in no_mapping.json()["detail"]
    bad_expr = await ingest.client.post(
        "/api/v1/sources",
        json={"name": "gen-y", "kind": "generic", "mapping": {"name": "foo[["}},
        headers=admin,
    )
    assert bad_expr.status_code == 422
    assert "JMESPath" in bad_expr.json()["detail"]
    analyst = await ingest.client.get("/api/v1/sources", headers=ingest.auth(Role.ANALYST))
    assert analyst.status_code == 403
    source = await ingest.make_source(kind="splunk")
    taken = await ingest.client.post(
        "/api/v1/sources", json={"name": source["name"], "kind": "splunk"}, headers=admin
    )
    assert taken.status_code == 409
    patched = await ingest.client.patch(
        f"/api/v1/sources/{source['name']}",
        json={"default_labels": ["siem"], "sla_minutes": {"high": 5}},
        headers=admin,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["default_labels"] == ["siem"]
    posted = await ingest.post_signed(source, ES_NOTABLE | {"urgency": "high", "event_id": "sla-5"})
    [message] = [m for m in await ingest.wait_for("event.ingested") if m.source_ref == "sla-5"]
    assert message.due_at is not None
    assert 4 < (message.due_at.timestamp() - time.time()) / 60 <= 5
    assert posted.status_code == 202
    deleted = await ingest.client.delete(f"/api/v1/sources/{source['name']}", headers=admin)
    assert deleted.status_code == 204
    gone = await ingest.post_signed(source, ES_NOTABLE)
    assert gone.status_code == 401


async def test_body_over_the_limit_is_413(ingest: IngestApp) -> None:
    source = await ingest.make_source(kind="splunk")
    huge = {"rule_name": "x", "blob": "a" * 300_000}
    response = await ingest.post_signed(source, huge)
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM


async def test_fifty_concurrent_identical_posts_make_one_event(ingest: IngestApp) -> None:
    source = await ingest.make_source(kind="qradar")
    offense = {**QRADAR_OFFENSE, "id": 77001}
    responses = await asyncio.gather(*(ingest.post_signed(source, offense) for _ in range(50)))
    assert all(r.status_code == 202 for r in responses), [r.text for r in responses][:3]
    ids = {r.json()["events"][0]["id"] for r in responses}
    assert len(ids) == 1
    assert sum(r.json()["events"][0]["created"] for r in responses) == 1
    rows = await ingest.pool.fetchval(
        "SELECT count(*) FROM ingest.events WHERE source = $1 AND source_ref = '77001'",
        source["name"],
    )
    assert rows == 1
    artifacts = await ingest.pool.fetchval(
        "SELECT count(*) FROM ingest.artifacts WHERE event_id = $1::uuid", ids.pop()
    )
    assert artifacts == 1
    ingested = [m for m in await ingest.wait_for("event.ingested") if m.source_ref == "77001"]
    assert len(ingested) == 1
