"""Pulling offenses from a local fake QRadar that follows IBM's REST API.

The fake follows the IBM QRadar API reference: ``GET /api/siem/offenses`` with ``filter``,
``sort`` and a ``Range: items=x-y`` header answered with ``Content-Range``; the ``SEC``
token header; ``GET /api/siem/source_addresses`` and ``/api/siem/local_destination_addresses``
with ``filter=id in (...)`` and ``fields``.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from services.ingest.tests._fake_qradar import TOKEN, FakeQRadar, fake_qradar, offense
from services.ingest.tests._ingest_helpers import IngestApp, running_ingest

__all__ = ["fake_qradar"]


async def _replica(database_url: str, pool: Any) -> AsyncIterator[IngestApp]:
    async for app in running_ingest(database_url, pool, f"tq{uuid.uuid4().hex[:8]}"):
        yield app


async def _until(check: Any, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = await check()
        if result:
            return result
        await asyncio.sleep(0.1)
    raise AssertionError("condition not met in time")


async def test_poller_reads_offenses_resumes_after_restart_and_runs_once(
    database_url: str, pool: Any, fake_qradar: tuple[FakeQRadar, str]
) -> None:
    fake, url = fake_qradar
    now_ms = int(time.time() * 1000)
    fake.offenses = [offense(100 + i, now_ms - 10_000 + i) for i in range(7)]
    name = f"qr-{uuid.uuid4().hex[:6]}"

    async def count() -> int:
        return int(
            await pool.fetchval("SELECT count(*) FROM ingest.events WHERE source = $1", name)
        )

    first = _replica(database_url, pool)
    second = _replica(database_url, pool)
    app = await anext(first)
    await anext(second)
    try:
        await app.make_source(
            name=name,
            kind="qradar",
            qradar={"url": url, "interval_s": 1, "page_size": 3, "since": "2000-01-01T00:00:00Z"},
            qradar_token=TOKEN,
            default_labels=["qradar"],
        )
        assert await _until(lambda: _eq(count(), 7))
        event_id = await pool.fetchval(
            "SELECT id FROM ingest.events WHERE source = $1 AND source_ref = '103'", name
        )
        event = await app.event(str(event_id))
        assert event["name"] == "Offense number 103"
        assert event["labels"] == ["qradar"]
        addresses = sorted((k, v) for a in event["artifacts"] for k, v in a["cef"].items())
        assert addresses == [
            ("destinationAddress", "10.1.2.3"),
            ("sourceAddress", "192.0.2.44"),
            ("sourceAddress", "192.0.2.45"),
        ]
        assert fake.filters[0] == "last_updated_time >= 946684800000"

        fake.offenses.append({**offense(103, now_ms + 5_000, magnitude=10)})

        async def raised() -> bool:
            return bool(
                await pool.fetchval(
                    "SELECT severity = 'critical' FROM ingest.events WHERE id = $1", event_id
                )
            )

        assert await _until(raised)
        assert await count() == 7
        assert fake.most_in_flight == 1, "one poller per source across both replicas"
    finally:
        await first.aclose()
    state = await pool.fetchrow(
        "SELECT q.* FROM ingest.qradar_state q JOIN ingest.sources s ON s.id = q.source_id "
        "WHERE s.name = $1",
        name,
    )
    assert state["last_updated_ms"] == now_ms + 5_000
    assert state["last_error"] is None
    fake.filters.clear()
    fake.offenses.append(offense(200, now_ms + 9_000))
    try:
        assert await _until(lambda: _eq(count(), 8))
        assert fake.filters[0] == f"last_updated_time >= {now_ms + 5_000}", "resumed where it was"
    finally:
        await second.aclose()


async def _eq(value: Any, expected: int) -> bool:
    return bool(await value == expected)


async def test_a_refused_token_is_recorded_and_retried(
    database_url: str, pool: Any, fake_qradar: tuple[FakeQRadar, str]
) -> None:
    _fake, url = fake_qradar
    name = f"qr-{uuid.uuid4().hex[:6]}"
    replica = _replica(database_url, pool)
    app = await anext(replica)
    try:
        await app.make_source(
            name=name, kind="qradar", qradar={"url": url, "interval_s": 1}, qradar_token="wrong"
        )

        async def error() -> Any:
            return await pool.fetchval(
                "SELECT q.last_error FROM ingest.qradar_state q JOIN ingest.sources s "
                "ON s.id = q.source_id WHERE s.name = $1",
                name,
            )

        assert "401" in await _until(error)
        listed = await app.client.get(f"/api/v1/sources/{name}", headers=app.auth(app_role()))
        assert listed.json()["has_qradar_token"] is True
        assert "wrong" not in listed.text
    finally:
        await replica.aclose()


def app_role() -> Any:
    from rampart.core.auth import Role

    return Role.ADMIN
