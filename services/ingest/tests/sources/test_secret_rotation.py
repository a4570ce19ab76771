"""Rotating a source's secret: the old one keeps working for its grace, none is ever shown."""

from __future__ import annotations

from typing import Any

from rampart.core.auth import Role
from services.ingest.tests._ingest_api import Ingest
from services.ingest.tests._payloads import ES_NOTABLE
from tests.harness import memory_only

pytestmark = memory_only


async def _rotate(ingest: Ingest, source: dict[str, Any], grace_minutes: int) -> str:
    rotated = await ingest.client.post(
        f"/api/v1/sources/{source['name']}/rotate-secret",
        json={"grace_minutes": grace_minutes},
        headers=ingest.harness.headers(Role.ADMIN),
    )
    assert rotated.status_code == 200, rotated.text
    return str(rotated.json()["secret"])


async def test_old_and_new_secret_both_work_during_the_grace(ingest: Ingest) -> None:
    source = await ingest.make_source(kind="splunk")
    new_secret = await _rotate(ingest, source, 10)
    assert new_secret != source["secret"]
    for secret in (source["secret"], new_secret):
        ok = await ingest.post_signed(source, ES_NOTABLE, secret=secret)
        assert ok.status_code == 202, ok.text


async def test_secrets_are_never_shown_nor_stored_in_clear(ingest: Ingest) -> None:
    source = await ingest.make_source(kind="splunk")
    new_secret = await _rotate(ingest, source, 10)
    listed = await ingest.client.get(
        f"/api/v1/sources/{source['name']}", headers=ingest.harness.headers(Role.ADMIN)
    )
    assert len(listed.json()["secrets"]) == 2
    assert source["secret"] not in listed.text
    assert new_secret not in listed.text
    stored = await ingest.harness.pool.fetch(
        "SELECT secret_hash, sealed FROM ingest.source_secrets"
    )
    for row in stored:
        assert source["secret"].encode() not in bytes(row["sealed"])
        assert new_secret.encode() not in bytes(row["sealed"])


async def test_a_rotation_without_grace_ends_the_old_secret_at_once(ingest: Ingest) -> None:
    source = await ingest.make_source(kind="splunk")
    new_secret = await _rotate(ingest, source, 10)
    newest = await _rotate(ingest, source, 0)
    old = await ingest.post_signed(source, ES_NOTABLE, secret=new_secret)
    assert old.status_code == 401
    assert (await ingest.post_signed(source, ES_NOTABLE, secret=newest)).status_code == 202
