"""A local fake QRadar console that follows IBM's REST API, for the poller's tests.

It follows the IBM QRadar API reference: ``GET /api/siem/offenses`` with ``filter``, ``sort``
and a ``Range: items=x-y`` header answered with ``Content-Range``; the ``SEC`` token header;
``GET /api/siem/source_addresses`` and ``/api/siem/local_destination_addresses`` with
``filter=id in (...)`` and ``fields``.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI, Header, Request
from fastapi.responses import JSONResponse

TOKEN = "f3b2c1d0-aaaa-bbbb-cccc-000000000001"


class FakeQRadar:
    """Offenses, addresses and a log of what was asked."""

    def __init__(self) -> None:
        self.offenses: list[dict[str, Any]] = []
        self.source_addresses = {17: "192.0.2.44", 18: "192.0.2.45"}
        self.destination_addresses = {3: "10.1.2.3"}
        self.filters: list[str] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self.app = self._build()

    def _build(self) -> FastAPI:
        app = FastAPI()

        def unauthorized() -> JSONResponse:
            return JSONResponse(
                {
                    "http_response": {
                        "code": 401,
                        "message": "You are unauthorized to access the requested resource.",
                    },
                    "code": 13,
                    "message": "No SEC header present in request. Please provide it and try again.",
                    "description": "",
                    "details": {},
                },
                status_code=401,
            )

        @app.get("/api/siem/offenses")
        async def offenses(
            request: Request,
            filter: str = "",
            sort: str = "",
            sec: str | None = Header(default=None),
            range_: str | None = Header(default=None, alias="Range"),
        ) -> Any:
            if sec != TOKEN:
                return unauthorized()
            self.filters.append(filter)
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            try:
                await asyncio.sleep(0.1)
                match = re.fullmatch(r"last_updated_time\s*(>=|>)\s*(\d+)", filter.strip())
                found = list(self.offenses)
                if match:
                    bound = int(match[2])
                    found = [
                        o
                        for o in found
                        if (
                            o["last_updated_time"] >= bound
                            if match[1] == ">="
                            else o["last_updated_time"] > bound
                        )
                    ]
                if sort == "+last_updated_time":
                    found.sort(key=lambda o: o["last_updated_time"])
                start, end = 0, len(found) - 1
                if range_:
                    items = re.fullmatch(r"items=(\d+)-(\d+)", range_)
                    assert items, range_
                    start, end = int(items[1]), int(items[2])
                page = found[start : end + 1]
                headers = {
                    "Content-Range": f"items {start}-{start + max(len(page) - 1, 0)}/{len(found)}"
                }
                return JSONResponse(page, headers=headers)
            finally:
                self.in_flight -= 1

        def by_ids(table: dict[int, str], field: str, filter_: str, fields: str) -> Any:
            ids = [int(i) for i in re.findall(r"\d+", filter_)]
            assert fields == f"id,{field}"
            return [{"id": i, field: table[i]} for i in ids if i in table]

        @app.get("/api/siem/source_addresses")
        async def source_addresses(
            filter: str, fields: str, sec: str | None = Header(default=None)
        ) -> Any:
            if sec != TOKEN:
                return unauthorized()
            return by_ids(self.source_addresses, "source_ip", filter, fields)

        @app.get("/api/siem/local_destination_addresses")
        async def destinations(
            filter: str, fields: str, sec: str | None = Header(default=None)
        ) -> Any:
            if sec != TOKEN:
                return unauthorized()
            return by_ids(self.destination_addresses, "local_destination_ip", filter, fields)

        return app


def offense(offense_id: int, updated_ms: int, magnitude: int = 5) -> dict[str, Any]:
    return {
        "id": offense_id,
        "description": f"Offense number {offense_id}\n",
        "magnitude": magnitude,
        "severity": 6,
        "credibility": 4,
        "relevance": 5,
        "offense_type": 0,
        "offense_source": "192.0.2.44",
        "categories": ["Suspicious Activity"],
        "source_address_ids": [17, 18],
        "local_destination_address_ids": [3],
        "start_time": updated_ms - 60_000,
        "last_updated_time": updated_ms,
        "status": "OPEN",
        "event_count": 3,
    }


@pytest.fixture
async def fake_qradar() -> AsyncIterator[tuple[FakeQRadar, str]]:
    fake = FakeQRadar()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(fake.app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    for _ in range(100):
        if server.started:
            break
        await asyncio.sleep(0.05)
    yield fake, f"http://127.0.0.1:{port}"
    server.should_exit = True
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(task, 10)
