"""The sources API (admin): validation against the kind, names, changes and deletion."""

from __future__ import annotations

import time

from rampart.core.auth import Role
from services.ingest.tests._ingest_api import Ingest
from services.ingest.tests._payloads import ES_NOTABLE


async def test_a_generic_source_needs_a_mapping(ingest: Ingest) -> None:
    no_mapping = await ingest.client.post(
        "/api/v1/sources",
        json={"name": "gen-x", "kind": "generic"},
        headers=ingest.harness.headers(Role.ADMIN),
    )
    assert no_mapping.status_code == 422
    assert "mapping" in no_mapping.json()["detail"]


async def test_a_mapping_must_be_jmespath(ingest: Ingest) -> None:
    bad_expr = await ingest.client.post(
        "/api/v1/sources",
        json={"name": "gen-y", "kind": "generic", "mapping": {"name": "foo[["}},
        headers=ingest.harness.headers(Role.ADMIN),
    )
    assert bad_expr.status_code == 422
    assert "JMESPath" in bad_expr.json()["detail"]


async def test_analysts_may_not_read_sources(ingest: Ingest) -> None:
    analyst = await ingest.client.get(
        "/api/v1/sources", headers=ingest.harness.headers(Role.ANALYST)
    )
    assert analyst.status_code == 403


async def test_a_taken_name_is_409(ingest: Ingest) -> None:
    source = await ingest.make_source(kind="splunk")
    taken = await ingest.client.post(
        "/api/v1/sources",
        json={"name": source["name"], "kind": "splunk"},
        headers=ingest.harness.headers(Role.ADMIN),
    )
    assert taken.status_code == 409


async def test_a_changed_sla_applies_to_the_next_event(ingest: Ingest) -> None:
    source = await ingest.make_source(kind="splunk")
    patched = await ingest.client.patch(
        f"/api/v1/sources/{source['name']}",
        json={"default_labels": ["siem"], "sla_minutes": {"high": 5}},
        headers=ingest.harness.headers(Role.ADMIN),
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["default_labels"] == ["siem"]
    posted = await ingest.post_signed(source, ES_NOTABLE | {"urgency": "high", "event_id": "sla-5"})
    [message] = [
        m for m in await ingest.captured.wait_for("event.ingested") if m.source_ref == "sla-5"
    ]
    assert message.due_at is not None
    assert 4 < (message.due_at.timestamp() - time.time()) / 60 <= 5
    assert posted.status_code == 202


async def test_a_deleted_sources_webhook_is_401(ingest: Ingest) -> None:
    source = await ingest.make_source(kind="splunk")
    deleted = await ingest.client.delete(
        f"/api/v1/sources/{source['name']}", headers=ingest.harness.headers(Role.ADMIN)
    )
    assert deleted.status_code == 204
    gone = await ingest.post_signed(source, ES_NOTABLE)
    assert gone.status_code == 401


async def test_a_new_qradar_url_needs_the_token_again(ingest: Ingest) -> None:
    admin = ingest.harness.headers(Role.ADMIN)
    polling = {"url": "http://127.0.0.1:9", "interval_s": 3600}
    source = await ingest.make_source(kind="qradar", qradar=polling, qradar_token="sec-original")
    path = f"/api/v1/sources/{source['name']}"

    async def token_sealed() -> bytes:
        return bytes(
            await ingest.harness.pool.fetchval(
                "SELECT qradar_token FROM ingest.sources WHERE name = $1", source["name"]
            )
        )

    before = await token_sealed()
    slower = await ingest.client.patch(
        path, json={"qradar": {**polling, "interval_s": 7200}}, headers=admin
    )
    assert slower.status_code == 200, slower.text
    assert slower.json()["has_qradar_token"] is True
    assert await token_sealed() == before
    moved = {**polling, "url": "https://qradar.attacker.example"}
    refused = await ingest.client.patch(path, json={"qradar": moved}, headers=admin)
    assert refused.status_code == 422, refused.text
    assert refused.json()["field"] == "qradar_token"
    kept = await ingest.client.get(path, headers=admin)
    assert kept.json()["qradar"]["url"] == polling["url"]
    assert await token_sealed() == before
    given = await ingest.client.patch(
        path, json={"qradar": moved, "qradar_token": "sec-new"}, headers=admin
    )
    assert given.status_code == 200, given.text
    assert given.json()["qradar"]["url"] == moved["url"]
    assert await token_sealed() != before


async def test_a_null_auth_is_refused_by_name(ingest: Ingest) -> None:
    source = await ingest.make_source(kind="splunk")
    changed = await ingest.client.patch(
        f"/api/v1/sources/{source['name']}",
        json={"auth": None},
        headers=ingest.harness.headers(Role.ADMIN),
    )
    assert changed.status_code == 422, changed.text
    assert changed.json()["field"] == "auth"
