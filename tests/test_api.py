"""The embedded application as a user reaches it over HTTP: auth, errors, limits, probes, flow."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from typing import Any
from uuid import uuid4

import httpx
import pytest
import uvicorn
from asgi_lifespan import LifespanManager
from pydantic import SecretStr

from rampart.cli._services import all_specs
from rampart.core.app import create_app
from rampart.core.auth import AUTH_SCHEMA, Role, create_token
from rampart.core.bus.memory import MemoryBus
from rampart.core.crypto import Keyring
from rampart.core.messages import message_types
from rampart.core.settings import Settings
from rampart.core.store import apply_migrations, connect_pool, load_migrations
from tests._processes import free_port

PROBLEM = "application/problem+json"


@pytest.fixture
async def running(database_url: str) -> AsyncIterator[tuple[Any, str]]:
    """All five services in one app behind a real HTTP server, as ``rampart run`` serves them."""
    port = free_port()
    pool = await connect_pool(database_url, min_size=1, max_size=2)
    try:
        await apply_migrations(
            pool, schema=AUTH_SCHEMA, migrations=load_migrations("rampart.core.auth")
        )
        async with pool.acquire() as conn:
            _, service_token = await create_token(conn=conn, name="services", role=Role.SERVICE)
    finally:
        await pool.close()
    settings = Settings(
        database_url=SecretStr(database_url),
        master_key=SecretStr(Keyring.generate_key_text()),
        max_body_bytes=64 * 1024,
        max_json_depth=16,
        public_url=f"http://127.0.0.1:{port}",
        service_token=SecretStr(service_token),
    )
    application = create_app(all_specs(), settings, title="Rampart")
    server = uvicorn.Server(
        uvicorn.Config(application, host="127.0.0.1", port=port, log_config=None)
    )
    serving = asyncio.create_task(server.serve())
    try:
        for _ in range(600):
            if server.started or serving.done():
                break
            await asyncio.sleep(0.05)
        assert server.started, "the server did not start"
        yield application, settings.public_url
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, 60)


@pytest.fixture
def app(running: tuple[Any, str]) -> Any:
    return running[0]


@pytest.fixture
async def client(running: tuple[Any, str]) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=running[1], timeout=30) as c:
        yield c


@pytest.fixture
async def tokens(pool: Any, app: Any) -> dict[Role, str]:
    made: dict[Role, str] = {}
    async with pool.acquire() as conn:
        for role in Role:
            _, made[role] = await create_token(conn=conn, name=f"test-{role}", role=role)
    return made


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _eventually(check: Any, timeout: float = 10.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


async def test_probes_need_no_token(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": True, "bus": True}
    metrics = await client.get("/metrics")
    assert metrics.status_code == 200
    assert "rampart_http_requests_total" in metrics.text


async def test_every_api_route_refuses_a_missing_or_bad_token(
    app: Any, client: httpx.AsyncClient
) -> None:
    paths = {p: ops for p, ops in app.openapi()["paths"].items() if p.startswith("/api/")}
    assert len(paths) >= 10
    for template, operations in paths.items():
        path = re.sub(r"\{[^}]+\}", str(uuid4()), template)
        for method in operations:
            for headers in ({}, _auth("rmp_not-a-real-token"), _auth("garbage")):
                response = await client.request(method, path, headers=headers)
                assert response.status_code == 401, (method, path, response.text)
                assert response.headers["content-type"] == PROBLEM
                assert response.headers["www-authenticate"].startswith("Bearer")


async def test_wrong_role_is_forbidden(client: httpx.AsyncClient, tokens: dict[Role, str]) -> None:
    response = await client.get("/api/v1/events", headers=_auth(tokens[Role.INGEST]))
    assert response.status_code == 403
    assert "analyst" in response.json()["detail"]
    response = await client.post(
        "/api/v1/tokens", json={"name": "x", "role": "admin"}, headers=_auth(tokens[Role.APPROVER])
    )
    assert response.status_code == 403
    assert response.headers["content-type"] == PROBLEM


async def test_admin_manages_tokens_and_secrets_are_shown_once(
    client: httpx.AsyncClient, tokens: dict[Role, str], pool: Any
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
    stored = await pool.fetch("SELECT token_hash::text AS h, name FROM auth.tokens")
    assert all(secret not in row["h"] for row in stored)
    fresh = await client.post(
        "/api/v1/tokens", json={"name": "tmp", "role": "analyst"}, headers=admin
    )
    revoked = await client.delete(f"/api/v1/tokens/{fresh.json()['id']}", headers=admin)
    assert revoked.status_code == 204
    after = await client.get("/api/v1/events", headers=_auth(fresh.json()["token"]))
    assert after.status_code == 401


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


async def test_correlation_id_is_echoed(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz", headers={"X-Correlation-ID": "abc-123"})
    assert response.headers["x-correlation-id"] == "abc-123"
    generated = await client.get("/healthz")
    assert len(generated.headers["x-correlation-id"]) == 36


async def test_event_flows_from_ingest_to_engine_and_approvals(
    client: httpx.AsyncClient, tokens: dict[Role, str]
) -> None:
    analyst = _auth(tokens[Role.ANALYST])
    body = {
        "name": "Malware on web-01",
        "source": "qradar",
        "source_ref": str(uuid4()),
        "severity": "critical",
        "labels": ["malware"],
    }
    first = await client.post("/api/v1/events", json=body, headers=analyst)
    assert first.status_code == 202
    event_id = first.json()["id"]
    again = await client.post("/api/v1/events", json=body, headers=analyst)
    assert again.json() == {"id": event_id, "created": False}

    async def timer() -> Any:
        r = await client.get(f"/api/v1/slas?subject_id={event_id}", headers=analyst)
        return r.json()

    timers = await _eventually(timer)
    assert timers[0]["subject_kind"] == "event"
    event = (await client.get(f"/api/v1/events/{event_id}", headers=analyst)).json()
    assert timers[0]["due_at"].replace("Z", "+00:00")[:19] == event["due_at"][:19]

    async def engine_saw_it() -> bool:
        r = await client.get("/api/v1/engine/events", headers=analyst)
        return any(e["event_id"] == event_id for e in r.json())

    assert await _eventually(engine_saw_it)


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


async def test_readiness_fails_when_the_bus_is_down(database_url: str) -> None:
    bus = MemoryBus()
    settings = Settings(
        database_url=SecretStr(database_url), master_key=SecretStr(Keyring.generate_key_text())
    )
    application = create_app(all_specs(), settings, bus=bus)
    async with LifespanManager(application, startup_timeout=60) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://rampart") as client:
            assert (await client.get("/readyz")).status_code == 200
            await bus.close()
            down = await client.get("/readyz")
            assert down.status_code == 503
            assert down.json()["checks"] == {"database": True, "bus": False}
            assert (await client.get("/healthz")).status_code == 200
