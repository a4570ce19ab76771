"""The shared client of the asset registry: answers from the real registry, and what it raises
when the registry cannot answer (refused, silent past the timeout, 5xx/429/401) or refuses."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from rampart.cli._services import service_spec
from rampart.core.auth import Role
from rampart.core.errors import PermanentError, TransientError, UnavailableError
from rampart.core.registry_client import RegistryClient, open_registry_client
from tests._processes import free_port
from tests.harness import StartServices, memory_only


@memory_only
async def test_it_reads_assets_owners_and_sealed_configs_from_the_real_registry(
    start_services: StartServices,
) -> None:
    async with start_services([service_spec("asset-registry")]) as registry:
        async with registry.client(Role.ADMIN) as admin:
            owner = (await admin.post("/api/v1/owners", json={"name": "rc-owner"})).json()
            made = await admin.post(
                "/api/v1/assets",
                json={
                    "name": "rc-edge-1",
                    "connector": "noop",
                    "config": {"token": "s3cret"},
                    "tags": ["rc-edge"],
                    "primary_owners": [owner["id"]],
                },
            )
            assert made.status_code == 201, made.text
        asset = made.json()
        async with open_registry_client(registry.settings) as client:
            assert [a["name"] for a in await client.assets(tag="rc-edge")] == ["rc-edge-1"]
            assert [a["id"] for a in await client.assets(name="rc-edge-1")] == [asset["id"]]
            assert await client.assets(tag="no-such-tag") == []
            assert (await client.asset(uuid.UUID(asset["id"])) or {})["name"] == "rc-edge-1"
            assert await client.asset(uuid.uuid4()) is None
            sealed = await client.sealed_config(uuid.UUID(asset["id"]))
            assert sealed is not None
            assert "s3cret" not in str(sealed)
            assert (await client.owner(uuid.UUID(owner["id"])) or {})["kind"] == "person"
            assert await client.owner(uuid.uuid4()) is None
            assert (await client.owner_named("rc-owner") or {})["id"] == owner["id"]
            assert await client.owner_named("rc-own") is None


async def test_a_registry_nobody_listens_for_is_unavailable_at_once() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    async with httpx.AsyncClient(base_url=url, timeout=5) as http:
        with pytest.raises(UnavailableError, match="could not be reached: ConnectError") as got:
            await RegistryClient(http).assets(tag="x")
    assert got.value.status == 503
    assert isinstance(got.value, TransientError)  # a message handler is delivered again


@pytest.fixture
async def silent_port() -> AsyncIterator[int]:
    """A port that accepts connections and never answers."""
    held: list[asyncio.StreamWriter] = []

    async def accept(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    try:
        yield int(server.sockets[0].getsockname()[1])
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_a_registry_that_never_answers_is_unavailable_after_the_timeout(
    silent_port: int,
) -> None:
    from rampart.core.settings import Settings

    settings = Settings(assets_url=f"http://127.0.0.1:{silent_port}")
    began = time.monotonic()
    async with open_registry_client(settings, timeout_s=0.3) as client:
        with pytest.raises(UnavailableError, match="ReadTimeout"):
            await client.asset(uuid.uuid4())
    assert time.monotonic() - began < 5


async def test_every_service_calls_the_registry_with_the_timeout_of_its_setting(
    silent_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rampart.core.settings import Settings

    monkeypatch.setenv("RAMPART_REGISTRY_TIMEOUT_S", "0.3")
    settings = Settings(assets_url=f"http://127.0.0.1:{silent_port}")
    assert settings.registry_timeout_s == 0.3
    began = time.monotonic()
    async with open_registry_client(settings) as client:
        with pytest.raises(UnavailableError, match="ReadTimeout"):
            await client.assets(tag="x")
    assert time.monotonic() - began < 5


def _answering(status: int) -> RegistryClient:
    transport = httpx.MockTransport(lambda _request: httpx.Response(status, text="nope"))
    return RegistryClient(httpx.AsyncClient(base_url="http://registry", transport=transport))


@pytest.mark.parametrize("status", [500, 502, 503, 429, 401, 403])
async def test_answers_a_later_call_may_not_get_are_unavailable(status: int) -> None:
    with pytest.raises(UnavailableError, match=f"answered {status} to GET /api/v1/assets"):
        await _answering(status).assets(product="Rampart test")


@pytest.mark.parametrize("status", [400, 422])
async def test_a_refused_question_is_permanent(status: int) -> None:
    with pytest.raises(PermanentError, match=f"refused GET /api/v1/owners/.* with {status}"):
        await _answering(status).owner(uuid.uuid4())
