"""The engine's playbook processes: a small pool, each request under a wall-clock budget.

A request that overruns its budget gets its process killed (SIGKILL) and replaced; the
caller learns ``StepTimeout``. Playbook code never runs in the engine's own process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from rampart.core.errors import TransientError
from rampart.core.workers import cancel_requested
from rampart.engine.sandbox import protocol
from rampart.engine.sandbox._environment import playbook_environment
from rampart.engine.sandbox.protocol import (
    FromProcess,
    Lookup,
    LookupReply,
    Match,
    Ping,
    Replay,
    ToProcess,
)

log = logging.getLogger(__name__)

Call = Callable[[str, dict[str, Any]], Awaitable[Any]]
SPAWN_TIMEOUT_S = 60.0
_PID = struct.Struct(">i")


class StepTimeout(Exception):
    """The playbook's code ran past its budget and its process was killed."""


class ProcessDied(Exception):
    """The playbook's process exited while it worked on the request."""


@dataclass(slots=True, eq=False)
class _Process:
    pid: int
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    loaded: set[str] = field(default_factory=set)

    def send(self, message: ToProcess) -> None:
        self.writer.write(protocol.encode(message))


class _Zygote:
    """This engine process's fork server (``_zygote``), started on first use, shared by pools.

    It is process-wide like ``multiprocessing``'s forkserver: every pool of the process forks
    from it, so the SDK is imported once per engine process, not once per playbook process.
    """

    _lock = threading.Lock()
    _current: _Zygote | None = None

    def __init__(self) -> None:
        control, theirs = socket.socketpair()
        self._control = control
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "rampart.engine.sandbox._zygote", str(theirs.fileno())],
            pass_fds=[theirs.fileno()],
            stdin=subprocess.DEVNULL,
            env=playbook_environment(os.environ),
            # not in the terminal's process group: Ctrl-C stops the engine, which stops these
            start_new_session=True,
        )
        theirs.close()

    @classmethod
    def fork(cls) -> tuple[int, socket.socket]:
        """A new playbook process and the engine's end of its socket (blocking)."""
        with cls._lock:
            if cls._current is None or cls._current._proc.poll() is not None:
                cls._current = cls()
            return cls._current._fork()

    def _fork(self) -> tuple[int, socket.socket]:
        ours, theirs = socket.socketpair()
        try:
            socket.send_fds(self._control, [b"f"], [theirs.fileno()])
            self._control.settimeout(SPAWN_TIMEOUT_S)
            raw = b""
            while len(raw) < _PID.size:
                chunk = self._control.recv(_PID.size - len(raw))
                if not chunk:
                    raise ProcessDied("the playbook fork server exited")
                raw += chunk
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        (pid,) = _PID.unpack(raw)
        return pid, ours


class PlaybookProcesses:
    """A pool of ``size`` playbook processes."""

    def __init__(self, *, size: int = 2) -> None:
        self._size = size
        self._idle: asyncio.Queue[_Process] = asyncio.Queue()
        self._all: set[_Process] = set()
        self._closing = False
        self._closed = asyncio.Event()
        self._spawning: set[asyncio.Task[None]] = set()
        self.kills = 0

    async def start(self) -> None:
        """Start every process of the pool and wait until each answers."""
        started = await asyncio.gather(*(self._spawn() for _ in range(self._size)))
        for process in started:
            self._idle.put_nowait(process)

    async def close(self) -> None:
        """Stop every process: close its input, then kill what did not exit."""
        self._closing = True
        self._closed.set()
        for task in list(self._spawning):
            task.cancel()
        for process in list(self._all):
            await _stop(process)
        self._all.clear()

    async def _spawn(self) -> _Process:
        pid, sock = await asyncio.to_thread(_Zygote.fork)
        reader, writer = await asyncio.open_unix_connection(sock=sock)
        process = _Process(pid, reader, writer)
        self._all.add(process)
        process.send(Ping())
        try:
            await asyncio.wait_for(protocol.read(process.reader), SPAWN_TIMEOUT_S)
        except BaseException:
            await _stop(process)
            self._all.discard(process)
            raise
        return process

    def _replace(self, process: _Process) -> None:
        self._all.discard(process)
        if self._closing:
            return

        async def respawn() -> None:
            while not self._closing:
                try:
                    self._idle.put_nowait(await self._spawn())
                    return
                except Exception as exc:
                    if cancel_requested():
                        raise asyncio.CancelledError from exc
                    log.exception("could not start a playbook process; retrying")
                    await asyncio.sleep(1.0)

        task = asyncio.create_task(respawn(), name="playbook-process-spawn")
        self._spawning.add(task)
        task.add_done_callback(self._spawning.discard)

    async def request(
        self,
        message: ToProcess,
        *,
        budget_s: float,
        source: tuple[str, str] | None = None,
        call: Call | None = None,
    ) -> FromProcess:
        """Send ``message`` to an idle process and return its answer within ``budget_s``.

        ``source`` is the playbook's (digest, text), sent only to a process that has not
        loaded it yet. ``call`` answers the lookups the playbook makes while it runs; the
        time they take counts toward ``budget_s``.
        """
        process = await self._take()
        healthy = False
        try:
            if isinstance(message, Match | Replay) and source and source[0] not in process.loaded:
                message = message.model_copy(update={"source": source[1]})
            deadline = time.monotonic() + budget_s
            process.send(message)
            reply = await self._converse(process, deadline, budget_s, call)
            if source is not None:
                process.loaded.add(source[0])
            healthy = True
            return reply
        finally:
            if healthy:
                self._idle.put_nowait(process)
            else:
                await _stop(process)
                self._replace(process)

    async def _take(self) -> _Process:
        """An idle process; ``TransientError`` once the pool closes, even while waiting."""
        if self._closing:
            raise TransientError("the engine is stopping")
        getter = asyncio.ensure_future(self._idle.get())
        closed = asyncio.ensure_future(self._closed.wait())
        try:
            await asyncio.wait({getter, closed}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            closed.cancel()
            if not getter.done():
                getter.cancel()
        if getter.done() and not getter.cancelled() and not self._closing:
            return getter.result()
        raise TransientError("the engine is stopping")

    async def _converse(
        self, process: _Process, deadline: float, budget_s: float, call: Call | None
    ) -> FromProcess:
        while True:
            left = deadline - time.monotonic()
            try:
                if left <= 0:
                    raise TimeoutError
                reply = await asyncio.wait_for(protocol.read(process.reader), left)
            except TimeoutError:
                self.kills += 1
                raise StepTimeout(
                    f"the playbook ran for more than {budget_s:g}s without waiting; "
                    "its process was killed"
                ) from None
            except (asyncio.IncompleteReadError, ConnectionError):
                if self._closing:
                    raise TransientError("the engine is stopping") from None
                raise ProcessDied("the playbook's process exited while it ran") from None
            except ValidationError as exc:
                raise ProcessDied(
                    f"the playbook's process sent a message out of protocol: {exc}"
                ) from None
            if not isinstance(reply, Lookup):
                return reply
            try:
                if call is None:
                    raise RuntimeError(f"no lookup {reply.what!r} here")
                value = await asyncio.wait_for(
                    call(reply.what, dict(reply.args)), max(deadline - time.monotonic(), 0.001)
                )
                process.send(LookupReply(ok=True, value=value))
            except Exception as exc:
                process.send(LookupReply(ok=False, error=f"{type(exc).__name__}: {exc}"))


async def _stop(process: _Process) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(process.pid, signal.SIGKILL)
    process.writer.close()
    with contextlib.suppress(Exception):
        await process.writer.wait_closed()
