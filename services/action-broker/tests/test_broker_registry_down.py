"""The asset registry down while actions are requested: an analyst's request answers 503 and
stores nothing; a playbook's request from the bus is not refused but delivered again, and runs
once the registry answers.

The services reach the registry through a TCP relay the test switches off and on (closing each
connection at once while off), so the registry itself, its database and the bus stay real.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit
from uuid import uuid4

from rampart.core.auth import Role
from rampart.core.bus import Outgoing
from rampart.core.envelope import Envelope
from rampart.core.messages import ActionCompleted, ActionRequested, ActionTarget
from tests.harness import StartServices, eventually


@dataclass
class Relay:
    """Forwards TCP connections to ``target`` while ``up``; closes them at once while down."""

    target: tuple[str, int] = ("127.0.0.1", 0)
    up: bool = False
    refused: int = 0
    port: int = 0
    _pipes: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.CancelledError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.up:
            self.refused += 1
            writer.close()
            return
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        for task in (
            asyncio.create_task(self._pipe(reader, up_writer)),
            asyncio.create_task(self._pipe(up_reader, writer)),
        ):
            self._pipes.add(task)
            task.add_done_callback(self._pipes.discard)

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[Relay]:
        server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = int(server.sockets[0].getsockname()[1])
        try:
            yield self
        finally:
            server.close()
            for task in list(self._pipes):
                task.cancel()
            await asyncio.gather(*self._pipes, return_exceptions=True)
            await server.wait_closed()


async def test_the_registry_down_answers_503_on_the_api_and_retries_on_the_bus(
    start_services: StartServices, broker_env: dict[str, str]
) -> None:
    async with (
        Relay().serving() as relay,
        start_services(
            assets_url=relay.url, bus_options={"retry_delay_ms": 150, "delivery_limit": 10}
        ) as services,
    ):
        url = urlsplit(services.url)
        relay.target = (str(url.hostname), int(url.port or 80))
        captured = await services.capture("action.*")

        def completions(key: str) -> list[ActionCompleted]:
            return [m for m in captured.of(ActionCompleted) if m.request_key == key]

        async with services.client(Role.ADMIN) as client:
            owner = await client.post("/api/v1/owners", json={"name": f"o-{uuid4().hex[:6]}"})
            made = await client.post(  # on the registry directly, not through the relay
                "/api/v1/assets",
                json={
                    "name": f"behind-relay-{uuid4().hex[:6]}",
                    "connector": "noop",
                    "config": {},
                    "primary_owners": [owner.json()["id"]],
                },
            )
            assert made.status_code == 201, made.text
            asset = made.json()

            async def runs_of(key: str) -> list[dict[str, Any]]:
                page = await client.get("/api/v1/action-runs", params={"limit": 500})
                return [r for r in page.json()["items"] if r["request_key"] == key]

            by_hand: dict[str, Any] = {
                "request_key": f"api:{uuid4()}",
                "action": "lookup ip",
                "target": {"asset": asset["name"]},
                "params": {"ip": "192.0.2.10"},
            }
            down = await client.post("/api/v1/action-runs", json=by_hand)
            assert down.status_code == 503, down.text
            assert down.headers["content-type"] == "application/problem+json"
            assert "the asset registry could not be reached" in down.json()["detail"]
            assert relay.refused >= 1
            assert await runs_of(by_hand["request_key"]) == []

            request = ActionRequested(
                request_key=f"test:{uuid4()}",
                action="lookup ip",
                target=ActionTarget(asset=asset["name"]),
                params={"ip": "192.0.2.11"},
                requested_by="tests",
            )
            refused_before = relay.refused
            envelope = Envelope.wrap(request, source="rampart/tests", subject=None)
            await services.bus.publish_encoded([Outgoing.of(envelope)])

            async def tried_twice() -> bool:
                return relay.refused >= refused_before + 2 and (
                    await services.handled("broker.requests", "failed") >= 2
                )

            await eventually(tried_twice, what="the request tried twice on the bus")
            assert completions(request.request_key) == []
            relay.up = True
            [done] = await eventually(
                lambda: completions(request.request_key), what="the request completed"
            )
            assert done.status == "success", done
            assert done.results[0].data[0]["params"] == {"ip": "192.0.2.11"}
            [run] = await runs_of(request.request_key)
            assert run["status"] == "success"

            again = await client.post("/api/v1/action-runs", json=by_hand)
            assert again.status_code == 202, again.text
