"""Notes and artifacts analysts add to an event."""

from __future__ import annotations

from rampart.core.auth import Role
from services.ingest.tests._ingest_api import Ingest
from tests.harness import memory_only

pytestmark = memory_only

ARTIFACTS = [
    {"name": "c2", "cef": {"destinationDnsDomain": "evil.example.org"}},
    {"name": "c2", "cef": {"destinationDnsDomain": "evil.example.org"}},
    {"cef": {"sourceProcessId": 4242, "deviceHostName": "web-01"}},
]


async def test_a_note_is_kept_under_its_author(ingest: Ingest) -> None:
    event_id = await ingest.post_event()
    note = await ingest.client.post(
        f"/api/v1/events/{event_id}/notes",
        json={"text": "looked at it"},
        headers=ingest.harness.headers(Role.ANALYST),
    )
    assert note.status_code == 201
    assert note.json()["author"] == "test-analyst"
    detail = await ingest.event(event_id)
    assert [n["text"] for n in detail["notes"]] == ["looked at it"]


async def test_identical_artifacts_are_merged(ingest: Ingest) -> None:
    event_id = await ingest.post_event()
    added = await ingest.client.post(
        f"/api/v1/events/{event_id}/artifacts",
        json=ARTIFACTS,
        headers=ingest.harness.headers(Role.ANALYST),
    )
    assert added.json() == {"added": 2}
    assert len((await ingest.event(event_id))["artifacts"]) == 2


async def test_an_empty_artifact_is_422_naming_it(ingest: Ingest) -> None:
    event_id = await ingest.post_event()
    bad = await ingest.client.post(
        f"/api/v1/events/{event_id}/artifacts",
        json=[{"cef": {}}],
        headers=ingest.harness.headers(Role.ANALYST),
    )
    assert bad.status_code == 422
    assert bad.json()["field"] == "body.0"


async def test_added_artifacts_get_their_contains_types(ingest: Ingest) -> None:
    event_id = await ingest.post_event()
    await ingest.client.post(
        f"/api/v1/events/{event_id}/artifacts",
        json=ARTIFACTS,
        headers=ingest.harness.headers(Role.ANALYST),
    )
    detail = await ingest.event(event_id)
    pid = next(a for a in detail["artifacts"] if "sourceProcessId" in a["cef"])
    assert pid["contains"]["sourceProcessId"] == ["process id"]
    assert pid["contains"]["deviceHostName"] == ["host name"]
