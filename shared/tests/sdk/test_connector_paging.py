"""Pages followed to the end or to a limit: any cursor, and RFC 8288 ``Link: rel="next"``."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from rampart.sdk.connector import (
    ActionContext,
    ActionError,
    collect,
    follow_links,
    product_client,
)


async def test_collect_follows_the_cursor_to_the_end() -> None:
    data = list(range(23))
    seen: list[int | None] = []

    async def page(cursor: int | None) -> tuple[list[int], int | None]:
        seen.append(cursor)
        start = cursor or 0
        rows = data[start : start + 10]
        return rows, (start + 10 if start + 10 < len(data) else None)

    found = await collect(page, limit=100)
    assert found.items == data
    assert not found.truncated
    assert found.pages == 3
    assert seen == [None, 10, 20]


async def test_collect_stops_at_the_limit_and_says_so() -> None:
    async def page(cursor: int | None) -> tuple[list[int], int | None]:
        start = cursor or 0
        return list(range(start, start + 10)), start + 10

    found = await collect(page, limit=15)
    assert found.items == list(range(15))
    assert found.truncated
    assert found.pages == 2


async def test_collect_refuses_a_product_that_never_ends() -> None:
    async def page(cursor: int | None) -> tuple[list[int], int | None]:
        return [1], (cursor or 0) + 1

    with pytest.raises(ActionError, match="3 pages"):
        await collect(page, limit=100, max_pages=3)


def _linked(next_host: str = "api.example") -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        after = int(request.url.params.get("after", "0"))
        rows = [{"id": n} for n in range(after, min(after + 2, 5))]
        headers = {}
        if after + 2 < 5:
            headers["Link"] = (
                f'<https://{next_host}/items?after={after + 2}&limit=2>; rel="next", '
                f'<https://api.example/items?limit=2>; rel="self"'
            )
        return httpx.Response(200, json=rows, headers=headers)

    return httpx.MockTransport(answer)


async def _follow(transport: httpx.MockTransport, limit: int) -> Any:
    def factory(**options: Any) -> httpx.AsyncClient:
        options.pop("verify", None)
        return httpx.AsyncClient(**options, transport=transport)

    ctx = ActionContext(asset="a", http=factory)
    async with product_client(ctx, "https://api.example") as api:
        return await follow_links(api, "/items", params={"limit": 2}, limit=limit)


async def test_follow_links_reads_every_page() -> None:
    found = await _follow(_linked(), limit=100)
    assert [r["id"] for r in found.items] == [0, 1, 2, 3, 4]
    assert found.pages == 3
    assert not found.truncated


async def test_follow_links_stops_at_the_limit() -> None:
    found = await _follow(_linked(), limit=3)
    assert [r["id"] for r in found.items] == [0, 1, 2]
    assert found.truncated


async def test_a_next_page_on_another_host_is_not_followed() -> None:
    with pytest.raises(ActionError, match="another host"):
        await _follow(_linked(next_host="elsewhere.example"), limit=100)
