"""Background work inside a service's lifespan that stops between rounds, not mid-query."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

log = logging.getLogger(__name__)


def cancel_requested() -> bool:
    """Whether the running task has been asked to stop.

    A loop that logs and retries on ``Exception`` calls this first: a cancel that arrives
    mid-query can surface as another error (the rollback fails too), and retrying would
    swallow the cancel and leave the task running after its owner stopped it.
    """
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


@contextlib.asynccontextmanager
async def periodic(
    work: Callable[[], Awaitable[object]],
    *,
    interval_s: float,
    name: str,
    grace_s: float = 10.0,
) -> AsyncIterator[None]:
    """Run ``work`` every ``interval_s`` until the context exits.

    A round that returns a number of seconds is followed sooner when that is shorter than
    ``interval_s`` (a timer loop that knows when the next timer is due). A failing round is
    logged and the next one runs on schedule. On exit the round in progress may finish (up
    to ``grace_s``) so no query or connection attempt is cancelled half-way.
    """
    stop = asyncio.Event()

    async def loop() -> None:
        while not stop.is_set():
            wait = interval_s
            try:
                sooner = await work()
                if isinstance(sooner, int | float) and not isinstance(sooner, bool):
                    wait = min(interval_s, max(0.0, float(sooner)))
            except Exception as exc:
                if cancel_requested():
                    raise asyncio.CancelledError from exc
                log.exception("background work failed; retrying", extra={"worker": name})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), wait)

    task = asyncio.create_task(loop(), name=name)
    try:
        yield
    finally:
        stop.set()
        try:
            await asyncio.wait_for(asyncio.shield(task), grace_s)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        except asyncio.CancelledError:
            if not task.cancelled():
                raise  # this context was cancelled, not the loop (which ended cancelled)
