"""Following a product's pages to the end or to a stated limit, whatever its cursor is.

```python
async def page(cursor: int | None) -> tuple[list[dict], int | None]:
    offset = cursor or 0
    body = await api.get_json("/results", params={"offset": offset, "count": 100})
    rows = body["results"]
    return rows, (offset + len(rows) if len(rows) == 100 else None)

found = await collect(page, limit=params.limit)     # found.items, found.truncated
```

:func:`collect` drives any cursor (an offset, an opaque token, ``search_after`` sort values);
:func:`follow_links` is the RFC 8288 ``Link: <...>; rel="next"`` case on a
:class:`ProductClient`, which refuses a next page on another host than the product's.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import httpx

from rampart.sdk.connector._errors import ActionError
from rampart.sdk.connector._http import ProductClient

__all__ = ["Collected", "collect", "follow_links", "next_link"]

T = TypeVar("T")
CursorT = TypeVar("CursorT")

MAX_PAGES = 1000
"""No product gets more than this many page requests for one action."""


@dataclass(frozen=True, slots=True)
class Collected(Generic[T]):
    """The items read, at most the limit; ``truncated`` when the product had more."""

    items: list[T] = field(default_factory=list)
    truncated: bool = False
    pages: int = 0


async def collect(
    page: Callable[[CursorT | None], Awaitable[tuple[Sequence[T], CursorT | None]]],
    *,
    limit: int,
    max_pages: int = MAX_PAGES,
) -> Collected[T]:
    """Call ``page(cursor)`` from ``None`` on until it gives no next cursor or ``limit`` is met."""
    items: list[T] = []
    cursor: CursorT | None = None
    for number in range(1, max_pages + 1):
        rows, cursor = await page(cursor)
        items.extend(rows)
        if len(items) >= limit:
            return Collected(items[:limit], len(items) > limit or cursor is not None, number)
        if cursor is None or not rows:
            return Collected(items, False, number)
    raise ActionError(f"the product still had more after {max_pages} pages")


def next_link(response: httpx.Response) -> str | None:
    """The ``rel="next"`` target of a response's ``Link`` header, if it has one."""
    target = response.links.get("next", {}).get("url")
    return str(target) if target else None


async def follow_links(
    api: ProductClient,
    path: str,
    *,
    limit: int,
    params: Mapping[str, Any] | None = None,
    items: Callable[[Any], Sequence[Any]] | None = None,
) -> Collected[Any]:
    """``GET path`` and each ``rel="next"`` page after it; each page's JSON is a list of items
    (or ``items(body)`` picks them), until the last page or ``limit`` items."""
    first = api.client.build_request("GET", path, params=params).url
    origin = (first.scheme, first.host, first.port)

    async def page(url: httpx.URL | None) -> tuple[Sequence[Any], httpx.URL | None]:
        response = await api.get(url or first)
        body = response.json() if response.content else []
        rows = items(body) if items is not None else body
        if not isinstance(rows, Sequence) or isinstance(rows, str):
            raise ActionError(f"GET {first.copy_with(query=None)}: a page that is not a list")
        following = next_link(response)
        if following is None:
            return rows, None
        target = response.request.url.join(following)
        if (target.scheme, target.host, target.port) != origin:
            raise ActionError(
                f"GET {first.copy_with(query=None)}: the next page is on another host "
                f"({target.host}); not followed"
            )
        return rows, target

    return await collect(page, limit=limit)
