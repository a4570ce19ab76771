"""A playbook process: loads playbook modules and runs replay passes the engine asks for.

The engine keeps a few of these (forked by ``_zygote``) and talks to each over a socket in
frames. Playbook code runs only here, so the engine can stop it at any moment, a busy loop
that never awaits included, by killing the process.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import sys
import threading
import time
from collections import OrderedDict
from typing import Any, BinaryIO

from rampart.engine.sandbox import protocol
from rampart.engine.sandbox._loader import PlaybookSourceError, describe, load
from rampart.engine.sandbox._replay import replay
from rampart.engine.sandbox.protocol import (
    Aborted,
    Failed,
    FromProcess,
    Inspect,
    Inspected,
    Invalid,
    Lookup,
    LookupReply,
    Match,
    Matched,
    Ping,
    Pong,
    Replay,
    ToProcess,
)
from rampart.sdk.playbook import Event, Playbook

CACHE_SIZE = 256
PR_SET_PDEATHSIG = 1


class _Aborted(Exception):
    """The engine could not answer a lookup; the pass is abandoned and retried later."""


class Worker:
    """The request loop of one playbook process."""

    def __init__(self, incoming: BinaryIO, outgoing: BinaryIO) -> None:
        self._in = incoming
        self._out = outgoing
        self._modules: OrderedDict[str, Playbook] = OrderedDict()

    def send(self, message: FromProcess) -> None:
        """Write one frame to the engine."""
        self._out.write(protocol.encode(message))
        self._out.flush()

    def serve(self) -> None:
        """Answer requests until the engine closes the pipe."""
        while (request := protocol.read_blocking(self._in)) is not None:
            reply: FromProcess
            try:
                reply = self.handle(request)
            except _Aborted as exc:
                reply = Aborted(error=str(exc))
            except PlaybookSourceError as exc:
                reply = Invalid(error=str(exc), line=exc.line)
            except Exception as exc:
                reply = Failed(error=f"{type(exc).__name__}: {exc}")
            self.send(reply)

    def handle(self, request: ToProcess) -> FromProcess:
        """One request: inspect a source, check a predicate, or run a replay pass."""
        match request:
            case Ping():
                return Pong(pid=os.getpid())
            case Inspect(source=source, filename=filename):
                found = load(source, filename=filename, module_name=_module_name("check"))
                return Inspected(playbook=describe(found))
            case Match():
                playbook = self._playbook(request.digest, request.filename, request.source)
                try:
                    matched = playbook.matches(Event.from_json(request.event))
                except Exception as exc:
                    return Matched(matched=False, error=f"{type(exc).__name__}: {exc}")
                return Matched(matched=matched)
            case Replay():
                playbook = self._playbook(request.digest, request.filename, request.source)
                return replay(
                    playbook,
                    run_id=request.run_id,
                    event=request.event,
                    history=request.history,
                    max_steps=request.max_steps,
                    lookup=self._lookup,
                    filename=request.filename,
                )
            case LookupReply():
                raise ValueError("a lookup reply came while no pass was running")

    def _playbook(self, digest: str, filename: str, source: str | None) -> Playbook:
        found = self._modules.get(digest)
        if found is None:
            if source is None:
                raise ValueError(f"playbook {digest[:12]} is not loaded and no source was sent")
            found = load(source, filename=filename, module_name=_module_name(digest))
            self._modules[digest] = found
            while len(self._modules) > CACHE_SIZE:
                self._modules.popitem(last=False)
        self._modules.move_to_end(digest)
        return found

    def _lookup(self, what: str, args: dict[str, Any]) -> Any:
        self.send(Lookup(what=what, args=args))
        reply = protocol.read_blocking(self._in)
        if reply is None:
            raise SystemExit(0)
        if not isinstance(reply, LookupReply):
            raise _Aborted(f"the engine sent {reply.op!r} while a lookup waited")
        if not reply.ok:
            raise _Aborted(reply.error or "lookup failed")
        return reply.value


def _module_name(digest: str) -> str:
    return f"rampart_playbook_{digest[:16]}"


def die_with_parent(*, watch: bool = True) -> None:
    """Exit when the parent dies, even if it was SIGKILLed and playbook code is busy."""
    parent = os.getppid()
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if not watch:
        return

    def check() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=check, name="parent-watch", daemon=True).start()


def serve_socket(sock: socket.socket) -> None:
    """Serve the engine on ``sock`` (a forked playbook process)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent()
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, sys.stdin.fileno())
    Worker(sock.makefile("rb"), sock.makefile("wb")).serve()
