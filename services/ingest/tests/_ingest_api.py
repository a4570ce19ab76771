"""The ingest API as the tests use it, on services run by the shared harness (tests/harness.py).

Only what is ingest's own lives here: making sources, signing webhooks, submitting and reading
events. Starting the services, tokens by role, capturing the bus and waiting come from the
harness.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx

from rampart.core.auth import Role
from rampart.ingest.sources.webhook_auth import sign
from tests.harness import Captured, ServiceHarness

MAX_BODY_BYTES = 256 * 1024
"""The body limit the ingest tests run with (a 300 kB body is over it)."""


@dataclass
class Ingest:
    """Running ingest: its harness, a client without a token, and ``event.*``/``task.*``/
    ``phase.*``."""

    harness: ServiceHarness
    client: httpx.AsyncClient
    captured: Captured

    async def make_source(self, **body: Any) -> dict[str, Any]:
        body.setdefault("name", f"src-{uuid.uuid4().hex[:8]}")
        response = await self.client.post(
            "/api/v1/sources", json=body, headers=self.harness.headers(Role.ADMIN)
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
        """Submit an event as Rampart JSON (as an analyst); its id."""
        body = {"name": "an event", "source": "api-test", **fields}
        response = await self.client.post(
            "/api/v1/events", json=body, headers=self.harness.headers(Role.ANALYST)
        )
        assert response.status_code == 202, response.text
        return str(response.json()["id"])

    async def event(self, event_id: str) -> dict[str, Any]:
        response = await self.client.get(
            f"/api/v1/events/{event_id}", headers=self.harness.headers(Role.ANALYST)
        )
        assert response.status_code == 200, response.text
        return dict(response.json())


@contextlib.asynccontextmanager
async def using(harness: ServiceHarness) -> AsyncIterator[Ingest]:
    """The ingest API of running ``harness``, capturing ``event.*``, ``task.*`` and
    ``phase.*`` from now on."""
    captured = await harness.capture("event.*", "task.*", "phase.*")
    async with harness.client(None) as client:
        yield Ingest(harness, client, captured)
