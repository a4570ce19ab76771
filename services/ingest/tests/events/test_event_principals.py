"""Events posted through the API are bound to the token that posted them.

A posted event can never merge into, overwrite or pre-empt an event of a configured source or
of another token; a resend by the same token merges, and a merge that raises the severity is
announced (``event.updated`` with the severity and the new due time) so playbooks and SLA
timers follow it.
"""

from __future__ import annotations

from typing import Any

from rampart.core.auth import Role
from rampart.core.messages import EventUpdated
from services.ingest.tests._ingest_api import Ingest
from services.ingest.tests._payloads import ES_NOTABLE

NOTABLE = {**ES_NOTABLE, "event_id": "principals-1", "urgency": "low"}


async def _post(ingest: Ingest, token: str, **fields: Any) -> dict[str, Any]:
    response = await ingest.client.post(
        "/api/v1/events",
        json={"name": "posted", **fields},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 202, response.text
    return dict(response.json())


async def test_a_posted_event_never_merges_into_a_configured_sources_event(
    ingest: Ingest,
) -> None:
    source = await ingest.make_source(kind="splunk")
    sent = await ingest.post_signed(source, NOTABLE)
    assert sent.status_code == 202, sent.text
    original = await ingest.event(sent.json()["events"][0]["id"])
    token = await ingest.harness.token(Role.INGEST, "forger")
    forged = await _post(
        ingest,
        token,
        source=source["name"],
        source_ref=original["source_ref"],
        severity="critical",
        labels=["forged"],
    )
    assert forged["created"] is True
    assert forged["id"] != original["id"]
    assert await ingest.event(original["id"]) == original, "the SIEM's event is untouched"
    posted = await ingest.event(forged["id"])
    assert posted["source"] != source["name"]


async def test_a_posted_event_never_pre_empts_a_configured_sources_event(
    ingest: Ingest,
) -> None:
    source = await ingest.make_source(kind="splunk")
    token = await ingest.harness.token(Role.ANALYST, "early bird")
    ref = {**NOTABLE, "event_id": "principals-2"}
    first = await _post(ingest, token, source=source["name"], source_ref=ref["event_id"])
    sent = await ingest.post_signed(source, ref)
    assert sent.status_code == 202, sent.text
    real = sent.json()["events"][0]
    assert real["created"] is True
    assert real["id"] != first["id"]
    assert (await ingest.event(real["id"]))["source"] == source["name"]


async def test_a_merge_never_crosses_tokens_but_the_same_token_merges(ingest: Ingest) -> None:
    one = await ingest.harness.token(Role.INGEST, "script")
    other = await ingest.harness.token(Role.INGEST, "script")  # even under the same name
    first = await _post(ingest, one, source="edr", source_ref="r-1")
    again = await _post(ingest, one, source="edr", source_ref="r-1", labels=["again"])
    elsewhere = await _post(ingest, other, source="edr", source_ref="r-1")
    assert (again["id"], again["created"]) == (first["id"], False)
    assert elsewhere["created"] is True
    assert elsewhere["id"] != first["id"]
    assert "again" not in (await ingest.event(elsewhere["id"]))["labels"]


async def test_a_merge_that_raises_the_severity_is_announced(ingest: Ingest) -> None:
    source = await ingest.make_source(kind="splunk")
    ref = {**NOTABLE, "event_id": "principals-3"}
    sent = await ingest.post_signed(source, ref)
    event_id = sent.json()["events"][0]["id"]
    raised = await ingest.post_signed(source, {**ref, "urgency": "critical"})
    assert raised.json()["events"][0] == {"index": 0, "id": event_id, "created": False}
    stored = await ingest.event(event_id)
    assert stored["severity"] == "critical"
    updates = [
        u
        for u in await ingest.captured.wait_for(EventUpdated)
        if str(u.event_id) == event_id and "severity" in u.changes
    ]
    assert updates, "a raised severity is announced"
    assert updates[0].changes["severity"] == "critical"
    assert updates[0].changes["due_at"] == stored["due_at"].replace("Z", "+00:00")
