"""The embedded application as a user reaches it over HTTP: auth, errors, limits, probes, flow.

Every case runs on the service harness (all five services served over real HTTP); the cases
where the bus plays a part run on both buses, the others on the in-process one.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator
from typing import Any
from uuid import uuid4

import httpx
import pytest

from rampart.core.auth import Role
from rampart.core.messages import EventIngested, message_types
from tests.harness import PROBLEM, ServiceHarness, StartServices, memory_only


@pytest.fixture
async def harness(start_services: StartServices) -> AsyncIterator[ServiceHarness]:
    """All five services with small request limits, so the limit cases stay small."""
    async with start_services(max_body_bytes=64 * 1024, max_json_depth=16) as running:
        yield running


@pytest.fixture
async def client(harness: ServiceHarness) -> AsyncIterator[httpx.AsyncClient]:
    """A client without a token; each case sends the one it means to."""
    async with harness.client(None) as c:
        yield c


@pytest.fixture
def tokens(harness: ServiceHarness) -> dict[Role, str]:
    return harness.tokens


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@memory_only
async def test_probes_need_no_token(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": True, "bus": True}
    metrics = await client.get("/metrics")
    assert metrics.status_code == 200
    assert "rampart_http_requests_total" in metrics.text


@memory_only
async def test_every_api_route_refuses_a_missing_or_bad_token(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    paths = {p: ops for p, ops in harness.app.openapi()["paths"].items() if p.startswith("/api/")}
    assert len(paths) >= 10
    for template, operations in paths.items():
        path = re.sub(r"\{[^}]+\}", str(uuid4()), template)
        for method in operations:
            for headers in ({}, _auth("rmp_not-a-real-token"), _auth("garbage")):
                response = await client.request(method, path, headers=headers)
                assert response.status_code == 401, (method, path, response.text)
                assert response.headers["content-type"] == PROBLEM
                assert response.headers["www-authenticate"].startswith("Bearer")


@memory_only
async def test_wrong_role_is_forbidden(client: httpx.AsyncClient, tokens: dict[Role, str]) -> None:
    response = await client.get("/api/v1/events", headers=_auth(tokens[Role.INGEST]))
    assert response.status_code == 403
    assert "analyst" in response.json()["detail"]
    response = await client.post(
        "/api/v1/tokens", json={"name": "x", "role": "admin"}, headers=_auth(tokens[Role.APPROVER])
    )
    assert response.status_code == 403
    assert response.headers["content-type"] == PROBLEM


@memory_only
async def test_admin_manages_tokens_and_secrets_are_shown_once(
    client: httpx.AsyncClient, tokens: dict[Role, str], harness: ServiceHarness
) -> None:
    admin = _auth(tokens[Role.ADMIN])
    created = await client.post(
        "/api/v1/tokens", json={"name": "soc", "role": "analyst"}, headers=admin
    )
    assert created.status_code == 201
    secret = created.json()["token"]
    assert (await client.get("/api/v1/events", headers=_auth(secret))).status_code == 200
    listed = await client.get("/api/v1/tokens", headers=admin)
    assert secret not in listed.text
    assert "token" not in listed.json()[0]
    stored = await harness.pool.fetch("SELECT token_hash::text AS h, name FROM auth.tokens")
    assert all(secret not in row["h"] for row in stored)
    fresh = await client.post(
        "/api/v1/tokens", json={"name": "tmp", "role": "analyst"}, headers=admin
    )
    revoked = await client.delete(f"/api/v1/tokens/{fresh.json()['id']}", headers=admin)
    assert revoked.status_code == 204
    after = await client.get("/api/v1/events", headers=_auth(fresh.json()["token"]))
    assert after.status_code == 401


@memory_only
async def test_bad_input_gets_problem_json(
    client: httpx.AsyncClient, tokens: dict[Role, str]
) -> None:
    analyst = {**_auth(tokens[Role.ANALYST]), "content-type": "application/json"}
    malformed = await client.post("/api/v1/events", content=b'{"name": ', headers=analyst)
    assert malformed.status_code == 422
    assert malformed.headers["content-type"] == PROBLEM
    wrong = await client.post(
        "/api/v1/events", json={"name": "x", "severity": "huge"}, headers=analyst
    )
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["field"] == "body.severity"
    too_big = await client.post(
        "/api/v1/events", content=b'{"name": "' + b"a" * 70_000 + b'"}', headers=analyst
    )
    assert too_big.status_code == 413
    assert too_big.headers["content-type"] == PROBLEM
    deep = b'{"name": "x", "data": ' + b'{"a": ' * 40 + b"1" + b"}" * 40 + b"}"
    too_deep = await client.post("/api/v1/events", content=deep, headers=analyst)
    assert too_deep.status_code == 400
    assert "deeper" in too_deep.json()["detail"]
    bracket_in_string = json.dumps({"name": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}).encode()
    ok = await client.post("/api/v1/events", content=bracket_in_string, headers=analyst)
    assert ok.status_code == 202
    missing = await client.get(f"/api/v1/events/{uuid4()}", headers=analyst)
    assert missing.status_code == 404
    assert missing.headers["content-type"] == PROBLEM
    not_uuid = await client.get("/api/v1/events/nope", headers=analyst)
    assert not_uuid.status_code == 422


@memory_only
async def test_depth_limit_holds_whatever_the_content_type_says(
    client: httpx.AsyncClient, tokens: dict[Role, str]
) -> None:
    deep = b'{"name": "x", "data": ' + b'{"a": ' * 40 + b"1" + b"}" * 40 + b"}"
    token = _auth(tokens[Role.ANALYST])
    spellings: list[list[tuple[str, str]]] = [
        [("content-type", "Application/JSON")],
        [("content-type", "application/vnd.rampart+json; charset=utf-8")],
        [],  # no content type: FastAPI reads the body as JSON
        # two headers: the route reads the first, a header dict keeps the last
        [("content-type", "application/json"), ("content-type", "text/plain")],
    ]
    for extra in spellings:
        headers = httpx.Headers([*token.items(), *extra])
        answer = await client.post("/api/v1/events", content=deep, headers=headers)
        assert answer.status_code == 400, (extra, answer.text)
        assert "deeper" in answer.json()["detail"]
    # the webhook reads a body without a content type as JSON too; the check runs before auth
    bare = await client.post("/api/v1/ingest/anything", content=b"[" * 40 + b"]" * 40)
    assert bare.status_code == 400
    assert "deeper" in bare.json()["detail"]


@memory_only
async def test_crafted_quotes_are_answered_at_once(client: httpx.AsyncClient) -> None:
    # 60 KB of escaped quotes in a string that never closes: a quadratic depth scan spends
    # tens of seconds of the whole process on it before even looking at the source
    crafted = b'"' + b'\\"' * 30_000
    started = time.perf_counter()
    answer = await client.post(
        "/api/v1/ingest/anything", content=crafted, headers={"content-type": "application/json"}
    )
    assert time.perf_counter() - started < 2.0
    assert answer.status_code == 401


@memory_only
async def test_every_api_refuses_nul_characters(
    harness: ServiceHarness, client: httpx.AsyncClient, tokens: dict[Role, str]
) -> None:
    admin = _auth(tokens[Role.ADMIN])
    paths = {p: ops for p, ops in harness.app.openapi()["paths"].items() if p.startswith("/api/")}
    checked = 0
    for template, operations in paths.items():
        if template == "/api/v1/ingest/{source}":
            continue  # the webhook cleans what SIEMs send (its own test)
        plain = re.sub(r"\{[^}]+\}", str(uuid4()), template)
        for method, operation in operations.items():
            cases: list[tuple[str, str, dict[str, Any]]] = [
                ("query.note", plain, {"params": {"note": "a\x00b"}})
            ]
            if "{" in template:
                param = re.search(r"\{([^}]+)\}", template)
                assert param is not None
                nul_path = template.replace(param[0], "a%00b", 1)
                cases.append((f"path.{param[1]}", re.sub(r"\{[^}]+\}", str(uuid4()), nul_path), {}))
            if "requestBody" in operation:
                body = {"name": "x", "labels": ["ok", "n\x00"], "data": {"k": ["\x00"]}}
                cases.append(("body.labels.1", plain, {"json": body}))
            for field, path, extra in cases:
                answer = await client.request(method, path, headers=admin, **extra)
                assert answer.status_code == 422, (method, path, field, answer.text)
                assert answer.headers["content-type"] == PROBLEM
                assert answer.json()["field"] == field, (method, path, answer.text)
                checked += 1
    assert checked >= 60


@memory_only
async def test_correlation_id_is_echoed(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz", headers={"X-Correlation-ID": "abc-123"})
    assert response.headers["x-correlation-id"] == "abc-123"
    generated = await client.get("/healthz")
    assert len(generated.headers["x-correlation-id"]) == 36


async def test_event_flows_from_ingest_to_engine_and_approvals(harness: ServiceHarness) -> None:
    captured = await harness.capture("event.*")
    body = {
        "name": "Malware on web-01",
        "source": "qradar",
        "source_ref": str(uuid4()),
        "severity": "critical",
        "labels": ["malware"],
    }
    async with harness.client(Role.ANALYST) as client:
        first = await client.post("/api/v1/events", json=body)
        assert first.status_code == 202
        event_id = first.json()["id"]
        again = await client.post("/api/v1/events", json=body)
        assert again.json() == {"id": event_id, "created": False}

        [ingested] = await captured.wait_for(EventIngested)
        assert str(ingested.event_id) == event_id
        assert ingested.severity == "critical"

        async def timer() -> Any:
            r = await client.get(f"/api/v1/slas?subject_id={event_id}")
            return r.json()

        timers = await harness.eventually(timer)
        assert timers[0]["subject_kind"] == "event"
        event = (await client.get(f"/api/v1/events/{event_id}")).json()
        assert timers[0]["due_at"].replace("Z", "+00:00")[:19] == event["due_at"][:19]

        async def engine_saw_it() -> bool:
            r = await client.get("/api/v1/engine/events")
            return any(e["event_id"] == event_id for e in r.json())

        assert await harness.eventually(engine_saw_it)


async def test_dead_letters_and_asyncapi(
    client: httpx.AsyncClient, tokens: dict[Role, str]
) -> None:
    admin = _auth(tokens[Role.ADMIN])
    unknown = await client.get("/api/v1/dead-letters/nope", headers=admin)
    assert unknown.status_code == 404
    assert "approvals.sla" in unknown.json()["detail"]
    empty = await client.get("/api/v1/dead-letters/approvals.sla", headers=admin)
    assert empty.status_code == 200
    assert empty.json() == []
    doc = (await client.get("/api/v1/asyncapi.json", headers=_auth(tokens[Role.ANALYST]))).json()
    assert doc["asyncapi"].startswith("3.")
    names = {m["name"] for m in doc["components"]["messages"].values()}
    assert names == set(message_types())
    # the workbook's phases are announced like its tasks, and listed for other tools to bind
    workbook = {"rampart.phase.started.v1", "rampart.phase.completed.v1"}
    assert workbook | {"rampart.task.created.v1", "rampart.task.completed.v1"} <= names


async def test_readiness_fails_when_the_bus_is_down(harness: ServiceHarness) -> None:
    async with harness.client(None) as client:
        assert (await client.get("/readyz")).status_code == 200
        await harness.bus.close()
        down = await client.get("/readyz")
        assert down.status_code == 503
        assert down.json()["checks"] == {"database": True, "bus": False}
        assert (await client.get("/healthz")).status_code == 200
