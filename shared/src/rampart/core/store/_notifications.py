"""LISTEN/NOTIFY on one connection of the process's own, outside the pool.

Each service's outbox relay and the engine's wake-up loop wait on notifications. Holding a
pooled connection each for that would keep most of an embedded process's pool busy doing
nothing (six relays and the engine's timers against a pool of ten), so every listener of a
process shares one dedicated connection instead. When that connection is lost (PostgreSQL
restarted, the backend terminated) it is opened again and every channel listened to anew,
and each callback is then called with ``None``: a notification may have been missed, so
the listener should look for work as if one had arrived.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import asyncpg

log = logging.getLogger(__name__)

Callback = Callable[[str | None], object]
"""Called with a notification's payload, or ``None`` after a reconnect."""


class Notifications:
    """The process's one LISTEN connection, shared by every listener, reconnecting when lost."""

    def __init__(self, dsn: str, *, retry_s: float = 1.0) -> None:
        self._dsn = dsn
        self._retry_s = retry_s
        self._conn: asyncpg.Connection | None = None
        self._callbacks: dict[str, list[Callback]] = {}
        self._reconnecting: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._closed = False

    @property
    def connected(self) -> bool:
        """Whether the connection is open now."""
        return self._conn is not None and not self._conn.is_closed()

    @property
    def server_pid(self) -> int | None:
        """The PostgreSQL backend serving the connection, while it is open."""
        return self._conn.get_server_pid() if self.connected and self._conn else None

    async def start(self) -> None:
        """Open the connection."""
        async with self._lock:
            await self._connect()

    async def listen(self, channel: str, callback: Callback) -> None:
        """Call ``callback`` with each notification on ``channel``."""
        async with self._lock:
            first = channel not in self._callbacks
            self._callbacks.setdefault(channel, []).append(callback)
            if first and self.connected and self._conn is not None:
                await self._conn.add_listener(channel, self._dispatch)

    async def unlisten(self, channel: str, callback: Callback) -> None:
        """Stop calling ``callback`` for ``channel``."""
        async with self._lock:
            callbacks = self._callbacks.get(channel, [])
            with contextlib.suppress(ValueError):
                callbacks.remove(callback)
            if not callbacks:
                self._callbacks.pop(channel, None)
                if self.connected and self._conn is not None:
                    with contextlib.suppress(Exception):
                        await self._conn.remove_listener(channel, self._dispatch)

    async def close(self) -> None:
        """Close the connection; no callback is called after this."""
        self._closed = True
        if self._reconnecting is not None:
            self._reconnecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reconnecting
            self._reconnecting = None
        if self._conn is not None:
            conn, self._conn = self._conn, None
            with contextlib.suppress(Exception):
                await conn.close(timeout=5)

    async def _connect(self) -> None:
        conn = await asyncpg.connect(self._dsn)
        try:
            for channel in self._callbacks:
                await conn.add_listener(channel, self._dispatch)
        except BaseException:
            await conn.close()
            raise
        conn.add_termination_listener(self._on_lost)
        self._conn = conn

    def _dispatch(self, _conn: object, _pid: int, channel: str, payload: object) -> None:
        for callback in list(self._callbacks.get(channel, ())):
            callback(payload if isinstance(payload, str) else None)

    def _on_lost(self, conn: object) -> None:
        if self._closed or conn is not self._conn:
            return
        self._conn = None
        log.warning("the LISTEN connection to PostgreSQL was lost; reconnecting")
        self._reconnecting = asyncio.get_running_loop().create_task(
            self._reconnect(), name="notifications-reconnect"
        )

    async def _reconnect(self) -> None:
        while not self._closed:
            try:
                async with self._lock:
                    await self._connect()
            except Exception as exc:
                log.warning("LISTEN connection: %s; trying again in %ss", exc, self._retry_s)
                await asyncio.sleep(self._retry_s)
                continue
            log.info("the LISTEN connection to PostgreSQL is back")
            for callbacks in list(self._callbacks.values()):
                for callback in list(callbacks):
                    callback(None)
            return
