"""Any JSON through a generic source's JMESPath mapping."""

from __future__ import annotations

from typing import Any

from services.ingest.tests._ingest_api import Ingest
from tests.harness import memory_only

pytestmark = memory_only

MAPPING = {
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
PAYLOAD = {
    "alerts": [
        {
            "id": "A-1",
            "title": "Ransomware note written",
            "level": "P1",
            "created": "2024-06-01T12:00:00Z",
            "tags": ["ransomware", "edr"],
            "network": {"src": ["10.9.9.9", "2001:db8::7"], "dst_host": "fs-01"},
            "file": {"sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        },
        {"id": "A-2", "level": "P1"},
        {"id": "A-3", "title": "Bad time", "created": "yesterday-ish"},
    ]
}


async def _source(ingest: Ingest) -> dict[str, Any]:
    return await ingest.make_source(
        kind="generic", mapping=MAPPING, severity_map={"p1": "critical"}
    )


async def test_each_unreadable_item_is_listed_with_its_mapping_field(ingest: Ingest) -> None:
    response = await ingest.post_signed(await _source(ingest), PAYLOAD)
    assert response.status_code == 202, response.text
    body = response.json()
    assert [e["index"] for e in body["events"]] == [0]
    assert [(e["index"], e["field"]) for e in body["errors"]] == [
        (1, "mapping.name"),
        (2, "mapping.occurred_at"),
    ]


async def test_a_mapped_event_takes_its_fields_and_artifacts(ingest: Ingest) -> None:
    response = await ingest.post_signed(await _source(ingest), PAYLOAD)
    event = await ingest.event(response.json()["events"][0]["id"])
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


async def test_a_body_whose_events_are_not_a_list_is_422(ingest: Ingest) -> None:
    unreadable = await ingest.post_signed(await _source(ingest), {"alerts": "not a list"})
    assert unreadable.status_code == 422
    assert unreadable.json()["field"] == "mapping.events"
