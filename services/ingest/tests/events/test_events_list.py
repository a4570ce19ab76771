"""Listing and reading events: newest first, filters, text search and cursors."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from rampart.core.auth import Role
from services.ingest.tests._ingest_api import Ingest
from tests.harness import PROBLEM, memory_only

pytestmark = memory_only


@pytest.fixture
async def seven(ingest: Ingest) -> tuple[str, list[str]]:
    """Seven events of one source: odd ones high and labelled odd and x, even ones low."""
    tag = uuid.uuid4().hex[:8]
    ids = []
    for i in range(7):
        ids.append(
            await ingest.post_event(
                name=f"{tag} event {i}",
                source=f"list-{tag}",
                severity="high" if i % 2 else "low",
                labels=["even"] if i % 2 == 0 else ["odd", "x"],
                artifacts=[{"cef": {"sourceAddress": f"10.77.0.{i}"}}],
            )
        )
    return tag, ids


async def _source(ingest: Ingest, ids: list[str]) -> str:
    """The source the events were recorded under: the posted one, bound to the token."""
    return str((await ingest.event(ids[0]))["source"])


async def _items(ingest: Ingest, **params: Any) -> list[dict[str, Any]]:
    response = await ingest.client.get(
        "/api/v1/events", params=params, headers=ingest.harness.headers(Role.ANALYST)
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_pages_hold_each_event_once_newest_first(
    ingest: Ingest, seven: tuple[str, list[str]]
) -> None:
    _, ids = seven
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"source": await _source(ingest, ids), "limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = (
            await ingest.client.get(
                "/api/v1/events", params=params, headers=ingest.harness.headers(Role.ANALYST)
            )
        ).json()
        seen.extend(e["id"] for e in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids)), "newest first, each once"


async def test_a_severity_filter(ingest: Ingest, seven: tuple[str, list[str]]) -> None:
    tag, ids = seven
    high = await _items(ingest, source=await _source(ingest, ids), severity="high")
    assert {e["name"] for e in high} == {f"{tag} event {i}" for i in (1, 3, 5)}


async def test_a_label_filter_needs_every_label(
    ingest: Ingest, seven: tuple[str, list[str]]
) -> None:
    _, ids = seven
    assert len(await _items(ingest, source=await _source(ingest, ids), label=["odd", "x"])) == 3


async def test_text_search_reads_artifacts(ingest: Ingest, seven: tuple[str, list[str]]) -> None:
    _, ids = seven  # every test here makes the same artifacts: search within this source
    assert [
        e["id"] for e in await _items(ingest, source=await _source(ingest, ids), q="10.77.0.4")
    ] == [ids[4]]


async def test_text_search_reads_names(ingest: Ingest, seven: tuple[str, list[str]]) -> None:
    tag, ids = seven
    assert [e["id"] for e in await _items(ingest, q=f"{tag} event 2")] == [ids[2]]


async def test_a_time_window_filter(ingest: Ingest, seven: tuple[str, list[str]]) -> None:
    _, ids = seven
    window = await _items(
        ingest,
        source=await _source(ingest, ids),
        since="2000-01-01T00:00:00Z",
        until="2000-01-02T00:00:00Z",
    )
    assert window == []


async def test_a_cursor_not_from_this_api_is_400(ingest: Ingest) -> None:
    bad = await ingest.client.get(
        "/api/v1/events",
        params={"cursor": "garbage!"},
        headers=ingest.harness.headers(Role.ANALYST),
    )
    assert bad.status_code == 400
    assert bad.headers["content-type"] == PROBLEM


async def test_other_services_may_read_an_event(
    ingest: Ingest, seven: tuple[str, list[str]]
) -> None:
    _, ids = seven
    service = await ingest.client.get(
        f"/api/v1/events/{ids[0]}", headers=ingest.harness.headers(Role.SERVICE)
    )
    assert service.status_code == 200
