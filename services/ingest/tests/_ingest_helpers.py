"""Shared pieces of the ingest tests: the ingest app in-process, tokens, signing, bus capture."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from pydantic import SecretStr

from rampart.core.app import create_app
from rampart.core.auth import Role, create_token
from rampart.core.bus import Delivery, MemoryBus, Topology
from rampart.core.crypto import Keyring
from rampart.core.settings import Settings
from rampart.ingest.sources.webhook_auth import sign
from rampart.ingest.spec import SPEC

PROBLEM = "application/problem+json"
# one installation: replicas started by the tests share the master key, as real ones must
MASTER_KEY = Keyring.generate_key_text()


@dataclass
class Captured:
    """Messages the ingest service published, by routing key."""

    messages: list[Delivery] = field(default_factory=list)

    def of(self, key: str) -> list[Any]:
        return [d.message for d in self.messages if d.envelope.routing_key == key]


@dataclass
class IngestApp:
    """The running ingest service: an HTTP client, tokens, the bus and what it published."""

    client: httpx.AsyncClient
    tokens: dict[Role, str]
    bus: MemoryBus
    captured: Captured
    pool: Any

    def auth(self, role: Role = Role.ANALYST) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    async def make_source(self, **body: Any) -> dict[str, Any]:
        body.setdefault("name", f"src-{uuid.uuid4().hex[:8]}")
        response = await self.client.post(
            "/api/v1/sources", json=body, headers=self.auth(Role.ADMIN)
        )
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def post_signed(
        self,
        source: dict[str, Any],
        payload: Any,
        *,
        content_type: str = "application/json",
        webhook_id: str | None = None,
        timestamp: int | None = None,
        secret: str | None = None,
    ) -> httpx.Response:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        webhook_id = webhook_id or f"msg_{uuid.uuid4().hex}"
        timestamp = int(time.time()) if timestamp is None else timestamp
        headers = {
            "content-type": content_type,
            "webhook-id": webhook_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(
                secret or source["secret"], webhook_id=webhook_id, timestamp=timestamp, body=body
            ),
        }
        return await self.client.post(
            f"/api/v1/ingest/{source['name']}", content=body, headers=headers
        )

    async def post_event(self, **fields: Any) -> str:
        """Submit an event as Rampart JSON; its id."""
        body = {"name": "an event", "source": "api-test", **fields}
        response = await self.client.post("/api/v1/events", json=body, headers=self.auth())
        assert response.status_code == 202, response.text
        return str(response.json()["id"])

    async def event(self, event_id: str) -> dict[str, Any]:
        response = await self.client.get(f"/api/v1/events/{event_id}", headers=self.auth())
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def wait_for(self, key: str, count: int = 1, timeout: float = 10.0) -> list[Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.captured.of(key)
            if len(found) >= count:
                return found
            await asyncio.sleep(0.02)
        raise AssertionError(
            f"{count} {key} not published within {timeout}s: {self.captured.of(key)}"
        )


def settings_for(database_url: str, **extra: Any) -> Settings:
    return Settings(
        database_url=SecretStr(database_url),
        master_key=SecretStr(MASTER_KEY),
        max_body_bytes=256 * 1024,
        **extra,
    )


async def running_ingest(
    database_url: str, pool: Any, namespace: str, **extra: Any
) -> AsyncIterator[IngestApp]:
    """Start the ingest service in-process on the in-process bus, capturing what it publishes."""
    bus = MemoryBus(topology=Topology(namespace), retry_delay_ms=10, delivery_limit=3)
    captured = Captured()
    application = create_app([SPEC], settings_for(database_url, **extra), bus=bus)
    async with LifespanManager(application, startup_timeout=60, shutdown_timeout=30) as manager:

        async def capture(delivery: Delivery) -> None:
            captured.messages.append(delivery)

        await bus.subscribe(
            "test.capture",
            ("event.*", "task.*"),
            capture,
        )
        transport = httpx.ASGITransport(app=manager.app)
        tokens: dict[Role, str] = {}
        async with pool.acquire() as conn:
            for role in Role:
                _, tokens[role] = await create_token(conn=conn, name=f"t-{role}", role=role)
        async with httpx.AsyncClient(transport=transport, base_url="http://rampart") as client:
            yield IngestApp(client, tokens, bus, captured, pool)
