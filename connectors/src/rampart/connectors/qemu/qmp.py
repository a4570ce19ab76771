"""A small QMP client: the QEMU Machine Protocol, JSON lines over a Unix or TCP socket.

A session reads the greeting, leaves capabilities negotiation with ``qmp_capabilities``,
then sends commands with an ``id`` and reads until the answer with that ``id``, passing
over the asynchronous events QEMU sends meanwhile. QEMU serves one QMP client per socket at
a time, so a session is opened for one action and closed straight after.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections.abc import AsyncIterator
from typing import Any

from rampart.connectors.qemu.config import parse_address
from rampart.sdk.connector import ActionError, TargetUnavailable

_LINE_LIMIT = 1024 * 1024


class QmpError(ActionError):
    """QEMU answered a command with an error (its ``class`` and ``desc``)."""

    def __init__(self, command: str, error_class: str, description: str) -> None:
        super().__init__(f"QMP {command}: {error_class}: {description}")
        self.error_class = error_class


class QmpSession:
    """One negotiated QMP connection."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, timeout_s: float
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._timeout_s = timeout_s
        self._ids = itertools.count(1)
        self.greeting: dict[str, Any] = {}

    async def _message(self) -> dict[str, Any]:
        line = await self._reader.readline()
        if not line:
            raise TargetUnavailable("QEMU closed the QMP connection")
        message = json.loads(line)
        if not isinstance(message, dict):
            raise ActionError("QEMU sent something that is not a QMP message")
        return message

    async def handshake(self) -> None:
        """Read the greeting and leave capabilities negotiation mode."""
        async with asyncio.timeout(self._timeout_s):
            greeting = await self._message()
        if "QMP" not in greeting:
            raise ActionError("the socket does not speak QMP (no greeting)")
        self.greeting = greeting["QMP"]
        await self.execute("qmp_capabilities")

    async def execute(self, command: str, arguments: dict[str, Any] | None = None) -> Any:
        """Run one command; its ``return`` value, or QmpError with QEMU's reason."""
        ident = f"rampart-{next(self._ids)}"
        request: dict[str, Any] = {"execute": command, "id": ident}
        if arguments:
            request["arguments"] = arguments
        try:
            async with asyncio.timeout(self._timeout_s):
                self._writer.write(json.dumps(request).encode() + b"\n")
                await self._writer.drain()
                message = await self._message()
                while message.get("id") != ident:  # an event, or an answer to nothing of ours
                    message = await self._message()
        except TimeoutError:
            raise TargetUnavailable(
                f"QMP {command}: no answer within {self._timeout_s:g} s"
            ) from None
        except OSError as exc:
            raise TargetUnavailable(f"QMP {command}: connection lost: {exc}") from None
        except ValueError:
            raise ActionError(f"QMP {command}: QEMU sent a line that is not JSON") from None
        if "error" in message:
            error = message["error"]
            raise QmpError(command, str(error.get("class", "Error")), str(error.get("desc", "")))
        return message.get("return")

    @property
    def version(self) -> str:
        """QEMU's version from the greeting, e.g. ``7.2.22``."""
        found = self.greeting.get("version", {}).get("qemu", {})
        return f"{found.get('major', '?')}.{found.get('minor', '?')}.{found.get('micro', '?')}"


@contextlib.asynccontextmanager
async def open_qmp(address: str, *, timeout_s: float) -> AsyncIterator[QmpSession]:
    """Connect to a QMP socket and negotiate; closed on exit."""
    where, port = parse_address(address)
    try:
        async with asyncio.timeout(timeout_s):
            if port is None:
                reader, writer = await asyncio.open_unix_connection(where, limit=_LINE_LIMIT)
            else:
                reader, writer = await asyncio.open_connection(where, port, limit=_LINE_LIMIT)
    except TimeoutError:
        raise TargetUnavailable(f"QMP {address}: no connection within {timeout_s:g} s") from None
    except OSError as exc:
        raise TargetUnavailable(f"QMP {address} is unreachable: {exc.strerror or exc}") from None
    session = QmpSession(reader, writer, timeout_s)
    try:
        try:
            await session.handshake()
        except TimeoutError:
            raise TargetUnavailable(f"QMP {address}: no greeting within {timeout_s:g} s") from None
        except OSError as exc:
            raise TargetUnavailable(f"QMP {address}: connection lost: {exc}") from None
        except ValueError:
            raise ActionError(f"QMP {address}: the greeting is not JSON") from None
        yield session
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
