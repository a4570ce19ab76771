"""The webhook end to end in one process: batches, authentication, limits and concurrency.

Authentication follows the Standard Webhooks specification (``webhook-id``,
``webhook-timestamp``, ``webhook-signature``).
"""

from __future__ import annotations

import asyncio
import math
import time
from typing import Any

import httpx

from services.ingest.tests._ingest_api import Ingest
from services.ingest.tests._payloads import ES_NOTABLE, QRADAR_OFFENSE
from tests.harness import PROBLEM

CEF_BATCH = (
    "CEF:0|V|P|1|1|good one|3|externalId=b-1\n"
    "\n"
    "this is not CEF\n"
    "CEF:0|V|P|1|only four fields\n"
    "CEF:0|V|P|1|2|good two|5|src=10.1.1.1 externalId=b-2\n"
)


async def test_a_cef_batch_stores_the_good_lines_and_lists_the_bad(ingest: Ingest) -> None:
    source = await ingest.make_source(kind="arcsight")
    response = await ingest.post_signed(source, CEF_BATCH.encode(), content_type="text/plain")
    assert response.status_code == 202, response.text
    body = response.json()
    assert [e["index"] for e in body["events"]] == [0, 3]
    assert [(e["index"], e["line"]) for e in body["errors"]] == [(1, 3), (2, 4)]
    assert "CEF:" in body["errors"][0]["detail"]
    assert "4 of 7" in body["errors"][1]["detail"]


async def test_a_body_without_one_readable_event_is_422_naming_the_line(
    ingest: Ingest,
) -> None:
    source = await ingest.make_source(kind="arcsight")
    bad = await ingest.post_signed(source, b"nothing here\n", content_type="text/plain")
    assert bad.status_code == 422
    assert bad.headers["content-type"] == PROBLEM
    assert bad.json()["errors"][0]["line"] == 1
    assert "line 1" in bad.json()["detail"]


async def test_a_json_batch_lists_each_bad_event_by_index(ingest: Ingest) -> None:
    splunk = await ingest.make_source(kind="splunk")
    mixed = await ingest.post_signed(splunk, [ES_NOTABLE, {"urgency": "low"}, 7])
    assert mixed.status_code == 202
    errors = mixed.json()["errors"]
    assert [e["index"] for e in errors] == [1, 2]
    assert "rule_name" in errors[0]["field"]


async def test_malformed_json_is_422(ingest: Ingest) -> None:
    splunk = await ingest.make_source(kind="splunk")
    malformed = await ingest.post_signed(splunk, b'{"result": ')
    assert malformed.status_code == 422
    assert "malformed JSON" in malformed.json()["detail"]


NOTABLE = {**ES_NOTABLE, "event_id": "auth-test-1"}


async def _stored(ingest: Ingest, source: dict[str, Any]) -> int:
    return int(
        await ingest.harness.pool.fetchval(
            "SELECT count(*) FROM ingest.events WHERE source = $1", source["name"]
        )
    )


async def test_a_signature_with_another_sources_secret_is_401(ingest: Ingest) -> None:
    source = await ingest.make_source(kind="splunk")
    other = await ingest.make_source(kind="splunk")
    wrong = await ingest.post_signed(source, NOTABLE, secret=other["secret"])
    assert wrong.status_code == 401
    assert wrong.json()["detail"] == "the source or its secret is not valid"
    assert await _stored(ingest, source) == 0


async def test_a_timestamp_past_the_replay_window_is_401(ingest: Ingest) -> None:
    source = await ingest.make_source(kind="splunk")
    stale = await ingest.post_signed(source, NOTABLE, timestamp=int(time.time()) - 301)
    assert stale.status_code == 401
    assert "timestamp" in stale.json()["detail"]
    # rounded up: the request takes a moment to arrive, and must still be 301 s ahead then
    future = await ingest.post_signed(source, NOTABLE, timestamp=math.ceil(time.time()) + 301)
    assert future.status_code == 401
    assert await _stored(ingest, source) == 0


async def test_an_unsigned_request_is_401_with_a_challenge(ingest: Ingest) -> None:
    source = await ingest.make_source(kind="splunk")
    unsigned = await ingest.client.post(f"/api/v1/ingest/{source['name']}", json=NOTABLE)
    assert unsigned.status_code == 401
    assert unsigned.headers["www-authenticate"].startswith("Bearer")
    assert await _stored(ingest, source) == 0


def _answer(response: httpx.Response) -> tuple[int, str | None, dict[str, Any]]:
    """What a caller learns from an answer: status, challenge and body, the path aside."""
    body = dict(response.json())
    body.pop("instance", None)  # the path the caller sent, nothing learnt
    return response.status_code, response.headers.get("www-authenticate"), body


async def test_an_unknown_source_answers_exactly_like_a_wrong_secret(ingest: Ingest) -> None:
    signed = await ingest.make_source(kind="splunk")
    bearer = await ingest.make_source(kind="splunk", auth="bearer")
    other = await ingest.make_source(kind="splunk")
    unknown = {**signed, "name": "no-such-source"}
    # a signed request: unknown source, another source's secret, a bearer-only source
    answers = [
        _answer(await ingest.post_signed(unknown, NOTABLE)),
        _answer(await ingest.post_signed(signed, NOTABLE, secret=other["secret"])),
        _answer(await ingest.post_signed(bearer, NOTABLE, secret=bearer["secret"])),
    ]
    # a bearer request: unknown source, a wrong secret, a source that wants signatures
    for name, secret in [
        ("no-such-source", bearer["secret"]),
        (bearer["name"], other["secret"]),
        (signed["name"], signed["secret"]),
    ]:
        response = await ingest.client.post(
            f"/api/v1/ingest/{name}", json=NOTABLE, headers={"authorization": f"Bearer {secret}"}
        )
        answers.append(_answer(response))
    assert answers[0][0] == 401
    assert all(a == answers[0] for a in answers), answers
    assert await _stored(ingest, signed) == 0
    assert await _stored(ingest, bearer) == 0


async def test_a_retry_of_an_accepted_webhook_id_gets_the_original_answer(
    ingest: Ingest,
) -> None:
    source = await ingest.make_source(kind="splunk")
    batch = [NOTABLE, {"urgency": "low"}]
    accepted = await ingest.post_signed(source, batch, webhook_id="msg_retry_1")
    assert accepted.status_code == 202
    assert accepted.json()["events"][0]["created"] is True
    retry = await ingest.post_signed(source, batch, webhook_id="msg_retry_1")
    assert retry.status_code == 202, retry.text
    assert retry.json() == accepted.json()
    # a second body under an id already accepted is that first delivery, not a new one
    other = await ingest.post_signed(
        source, {**NOTABLE, "event_id": "auth-test-2"}, webhook_id="msg_retry_1"
    )
    assert other.status_code == 202
    assert other.json() == accepted.json()
    assert await _stored(ingest, source) == 1


async def test_concurrent_retries_of_one_webhook_id_all_get_its_answer(ingest: Ingest) -> None:
    source = await ingest.make_source(kind="splunk")
    responses = await asyncio.gather(
        *(ingest.post_signed(source, NOTABLE, webhook_id="msg_retry_2") for _ in range(10))
    )
    assert [r.status_code for r in responses] == [202] * 10, [r.text for r in responses]
    assert len({r.text for r in responses}) == 1
    assert await _stored(ingest, source) == 1


async def test_a_body_over_the_limit_is_413(ingest: Ingest) -> None:
    source = await ingest.make_source(kind="splunk")
    huge = {"rule_name": "x", "blob": "a" * 300_000}
    response = await ingest.post_signed(source, huge)
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM


async def test_fifty_concurrent_identical_posts_make_one_event(ingest: Ingest) -> None:
    source = await ingest.make_source(kind="qradar")
    offense = {**QRADAR_OFFENSE, "id": 77001}
    responses = await asyncio.gather(*(ingest.post_signed(source, offense) for _ in range(50)))
    assert all(r.status_code == 202 for r in responses), [r.text for r in responses][:3]
    ids = {r.json()["events"][0]["id"] for r in responses}
    assert len(ids) == 1
    assert sum(r.json()["events"][0]["created"] for r in responses) == 1
    rows = await ingest.harness.pool.fetchval(
        "SELECT count(*) FROM ingest.events WHERE source = $1 AND source_ref = '77001'",
        source["name"],
    )
    assert rows == 1
    artifacts = await ingest.harness.pool.fetchval(
        "SELECT count(*) FROM ingest.artifacts WHERE event_id = $1::uuid", ids.pop()
    )
    assert artifacts == 1
    ingested = [
        m for m in await ingest.captured.wait_for("event.ingested") if m.source_ref == "77001"
    ]
    assert len(ingested) == 1


async def test_nul_characters_are_cleaned_and_a_bad_line_is_listed(ingest: Ingest) -> None:
    source = await ingest.make_source(kind="arcsight")
    batch = (
        "CEF:0|V|P|1|1|nul in\x00 the name|3|msg=a\x00b externalId=nul-1\n"
        "CEF:0|V|P|1|only four fields\x00\n"
        "CEF:0|V|P|1|2|clean|5|cs1Label=k\x00ey cs1=v\x00 externalId=nul-2\n"
    )
    response = await ingest.post_signed(source, batch.encode(), content_type="text/plain")
    assert response.status_code == 202, response.text
    body = response.json()
    assert [e["index"] for e in body["events"]] == [0, 2]
    assert [(e["index"], e["line"]) for e in body["errors"]] == [(1, 2)]
    first = await ingest.event(body["events"][0]["id"])
    assert first["name"] == "nul in the name"
    assert first["data"]["extensions"]["msg"] == "ab"
    second = await ingest.event(body["events"][1]["id"])
    assert second["data"]["extensions"] == {"cs1Label": "key", "cs1": "v", "externalId": "nul-2"}
    splunk = await ingest.make_source(kind="splunk")
    notable = {**ES_NOTABLE, "event_id": "nul-3", "rule_name": "r\x00", "dest": "h\x00st"}
    answer = await ingest.post_signed(splunk, [notable, {"urgency": "low\x00"}])
    assert answer.status_code == 202, answer.text
    assert [e["index"] for e in answer.json()["errors"]] == [1]
    stored = await ingest.event(answer.json()["events"][0]["id"])
    assert stored["name"] == "r"
    assert stored["data"]["dest"] == "hst"


async def test_offsets_postgresql_cannot_hold_are_stored_in_utc(ingest: Ingest) -> None:
    # ISO 8601 and pydantic allow offsets up to 23:59; PostgreSQL's text input stops at 15:59
    event_id = await ingest.post_event(name="far offset", occurred_at="2024-01-01T20:00:00+19:49")
    assert (await ingest.event(event_id))["occurred_at"].startswith("2024-01-01T00:11:00")
    splunk = await ingest.make_source(kind="splunk")
    notable = {**ES_NOTABLE, "event_id": "offset-1", "_time": "2024-01-01T20:00:00-23:30"}
    answer = await ingest.post_signed(splunk, notable)
    assert answer.status_code == 202, answer.text
    stored = await ingest.event(answer.json()["events"][0]["id"])
    assert stored["occurred_at"].startswith("2024-01-02T19:30:00")
