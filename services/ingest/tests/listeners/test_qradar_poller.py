"""Pulling offenses from a local fake QRadar that follows IBM's REST API.

The fake follows the IBM QRadar API reference: ``GET /api/siem/offenses`` with ``filter``,
``sort`` and a ``Range: items=x-y`` header answered with ``Content-Range``; the ``SEC``
token header; ``GET /api/siem/source_addresses`` and ``/api/siem/local_destination_addresses``
with ``filter=id in (...)`` and ``fields``.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from pydantic import SecretStr

from rampart.core.auth import Role
from rampart.core.crypto import Keyring
from rampart.ingest.spec import SPEC
from services.ingest.tests._fake_qradar import TOKEN, FakeQRadar, fake_qradar, offense
from services.ingest.tests._ingest_api import MAX_BODY_BYTES, Ingest, using
from tests.harness import StartServices, eventually, memory_only

pytestmark = memory_only
__all__ = ["fake_qradar"]


@contextlib.asynccontextmanager
async def _replica(start_services: StartServices, master_key: SecretStr) -> AsyncIterator[Ingest]:
    """One ingest replica on the test database; replicas share the installation's master key."""
    async with (
        start_services([SPEC], master_key=master_key, max_body_bytes=MAX_BODY_BYTES) as running,
        using(running) as app,
    ):
        yield app


async def _until(check: Callable[[], Awaitable[Any]], timeout: float = 20.0) -> Any:
    return await eventually(check, timeout=timeout, interval=0.1, what="condition")


async def test_poller_reads_offenses_resumes_after_restart_and_runs_once(
    start_services: StartServices, pool: Any, fake_qradar: tuple[FakeQRadar, str]
) -> None:
    fake, url = fake_qradar
    now_ms = int(time.time() * 1000)
    fake.offenses = [offense(100 + i, now_ms - 10_000 + i) for i in range(7)]
    name = f"qr-{uuid.uuid4().hex[:6]}"

    async def count() -> int:
        return int(
            await pool.fetchval("SELECT count(*) FROM ingest.events WHERE source = $1", name)
        )

    master_key = SecretStr(Keyring.generate_key_text())
    async with contextlib.AsyncExitStack() as second, contextlib.AsyncExitStack() as first:
        app = await first.enter_async_context(_replica(start_services, master_key))
        await second.enter_async_context(_replica(start_services, master_key))
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
        assert set(fake.sorts) == {"+last_updated_time,+id"}
        assert set(fake.versions) == {"20.0"}, "every request names the API version"

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
        await first.aclose()  # the first replica stops; the second takes its source over
        state = await pool.fetchrow(
            "SELECT q.* FROM ingest.qradar_state q JOIN ingest.sources s ON s.id = q.source_id "
            "WHERE s.name = $1",
            name,
        )
        assert state["last_updated_ms"] == now_ms + 5_000
        assert state["last_error"] is None
        fake.filters.clear()
        fake.offenses.append(offense(200, now_ms + 9_000))
        assert await _until(lambda: _eq(count(), 8))
        assert fake.filters[0] == f"last_updated_time >= {now_ms + 5_000}", "resumed where it was"


async def test_an_offense_updated_while_pages_are_read_pushes_none_past_the_window(
    start_services: StartServices, pool: Any, fake_qradar: tuple[FakeQRadar, str]
) -> None:
    fake, url = fake_qradar
    now_ms = int(time.time() * 1000)
    fake.offenses = [offense(300 + i, now_ms - 10_000 + i) for i in range(7)]

    def update_the_first_once(pages: int) -> None:
        # QRadar updates offense 300 right after the first page was served: it moves to the
        # end of the order, so reading the next page at an offset would skip offense 303
        if pages == 1:
            fake.offenses[0] = offense(300, now_ms, magnitude=9)

    fake.after_each_page = update_the_first_once
    name = f"qr-{uuid.uuid4().hex[:6]}"
    async with _replica(start_services, SecretStr(Keyring.generate_key_text())) as app:
        await app.make_source(
            name=name,
            kind="qradar",
            qradar={
                "url": url,
                "interval_s": 3600,
                "page_size": 3,
                "since": "2000-01-01T00:00:00Z",
            },
            qradar_token=TOKEN,
        )

        async def polled() -> Any:
            return await pool.fetchval(
                "SELECT q.last_run_at FROM ingest.qradar_state q JOIN ingest.sources s "
                "ON s.id = q.source_id WHERE s.name = $1",
                name,
            )

        await _until(polled)
        refs = await pool.fetch(
            "SELECT source_ref, severity FROM ingest.events WHERE source = $1 ORDER BY 1", name
        )
        assert [r["source_ref"] for r in refs] == [str(300 + i) for i in range(7)]
        assert fake.filters[1:] == [
            f"last_updated_time > {now_ms - 10_000 + 2} or "
            f"(last_updated_time = {now_ms - 10_000 + 2} and id > 302)",
            f"last_updated_time > {now_ms - 10_000 + 5} or "
            f"(last_updated_time = {now_ms - 10_000 + 5} and id > 305)",
        ]
        assert refs[0]["severity"] == "critical", "the updated offense was read again"


async def _eq(value: Any, expected: int) -> bool:
    return bool(await value == expected)


async def test_a_refused_token_is_recorded_and_retried(
    start_services: StartServices, pool: Any, fake_qradar: tuple[FakeQRadar, str]
) -> None:
    _fake, url = fake_qradar
    name = f"qr-{uuid.uuid4().hex[:6]}"
    async with _replica(start_services, SecretStr(Keyring.generate_key_text())) as app:
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
        listed = await app.client.get(
            f"/api/v1/sources/{name}", headers=app.harness.headers(Role.ADMIN)
        )
        assert listed.json()["has_qradar_token"] is True
        assert "wrong" not in listed.text
