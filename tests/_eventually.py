"""Wait on a positive signal: poll a check until it holds, never sleep a fixed time."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(
    check: Callable[[], T | Awaitable[T]],
    *,
    timeout: float = 20.0,
    interval: float = 0.02,
    what: str = "",
) -> T:
    """Poll ``check`` (sync or async) until it returns something truthy; return that.

    Fails after ``timeout`` seconds with ``what`` (or the check's name) and the last value.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result  # type: ignore[return-value]
        if loop.time() > deadline:
            name = what or getattr(check, "__qualname__", repr(check))
            raise AssertionError(f"{name}: not true within {timeout}s (last: {result!r})")
        await asyncio.sleep(interval)
