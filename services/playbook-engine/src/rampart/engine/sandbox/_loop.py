"""A deterministic event loop for one replay pass: runs ready callbacks until none is left.

Playbook code runs on this loop, not on asyncio's default one, so that "the playbook is now
waiting for results the engine has not got yet" is a plain fact (nothing is ready) instead of
a guess, and so callbacks always run in the same order on every replay. The loop has no I/O
and no wall clock: real-time waits in a playbook would not survive a restart, so asking for
one is an error that names the durable alternative.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any

NO_TIMERS = (
    "playbook code asked for a wall-clock timer (asyncio.sleep with a delay, wait_for, "
    "timeout): such waits do not survive a restart; use `await ctx.sleep(...)` instead"
)


class ReplayLoop(asyncio.AbstractEventLoop):
    """An event loop without I/O or timers that runs until nothing is ready."""

    def __init__(self) -> None:
        self._ready: deque[asyncio.Handle] = deque()
        self._closed = False
        self._running = False
        self.unhandled: list[dict[str, Any]] = []

    # the parts of the loop API that futures, tasks, gather and TaskGroup use

    def call_soon(  # type: ignore[override]
        self,
        callback: Callable[..., object],
        *args: Any,
        context: contextvars.Context | None = None,
    ) -> asyncio.Handle:
        """Queue ``callback`` to run in this pass, after those already queued."""
        handle = asyncio.Handle(callback, args, self, context)
        self._ready.append(handle)
        return handle

    call_soon_threadsafe = call_soon  # type: ignore[assignment]

    def call_later(  # type: ignore[override]
        self,
        delay: float,
        callback: Callable[..., object],
        *args: Any,
        context: contextvars.Context | None = None,
    ) -> asyncio.TimerHandle:
        """Refused: a wall-clock timer would not survive a restart."""
        raise RuntimeError(NO_TIMERS)

    def call_at(  # type: ignore[override]
        self,
        when: float,
        callback: Callable[..., object],
        *args: Any,
        context: contextvars.Context | None = None,
    ) -> asyncio.TimerHandle:
        """Refused: a wall-clock timer would not survive a restart."""
        raise RuntimeError(NO_TIMERS)

    def time(self) -> float:
        """Always 0: the replay has no clock; playbooks take time from ``ctx.now()``."""
        return 0.0

    def create_future(self) -> asyncio.Future[Any]:
        """A future bound to this loop."""
        return asyncio.Future(loop=self)

    def create_task(  # type: ignore[override]
        self,
        coro: Coroutine[Any, Any, Any],
        *,
        name: str | None = None,
        context: contextvars.Context | None = None,
    ) -> asyncio.Task[Any]:
        """A task bound to this loop."""
        return asyncio.Task(coro, loop=self, name=name, context=context)

    def get_debug(self) -> bool:
        """Debug mode is off."""
        return False

    def is_running(self) -> bool:
        """Whether ``run_until_idle`` is running."""
        return self._running

    def is_closed(self) -> bool:
        """Whether ``close`` was called."""
        return self._closed

    def close(self) -> None:
        """Drop whatever is still queued."""
        self._ready.clear()
        self._closed = True

    def call_exception_handler(self, context: dict[str, Any]) -> None:
        """Keep the report: errors nobody retrieved are the playbook's, reported with the run."""
        self.unhandled.append(context)

    def default_exception_handler(self, context: dict[str, Any]) -> None:
        """Keep the report, as ``call_exception_handler`` does."""
        self.unhandled.append(context)

    async def shutdown_asyncgens(self) -> None:
        """Nothing to shut down: async generators die with the pass."""

    async def shutdown_default_executor(self, timeout: float | None = None) -> None:  # noqa: ASYNC109
        """There is no executor."""

    def run_until_idle(self) -> None:
        """Run queued callbacks, and those they queue, until the queue is empty."""
        asyncio.events._set_running_loop(self)
        self._running = True
        try:
            while self._ready:
                handle = self._ready.popleft()
                if not handle.cancelled():
                    handle._run()
        finally:
            self._running = False
            asyncio.events._set_running_loop(None)
