"""The catcher as the platform runs it: an aiosmtpd server on a socket ``rampart run`` opened."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from rampart.core.runtime import Resources, ServiceSpec, StateFactory
from rampart.core.store import Pool
from rampart.mailcatcher import store

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class MailCatcher:
    """The running catcher: where it listens."""

    host: str
    port: int


class _Keep:
    """aiosmtpd's handler: every message is kept, whoever it is for."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode()
        try:
            await store.keep(
                pool=self._pool,
                sender=str(envelope.mail_from or ""),
                recipients=[str(r) for r in envelope.rcpt_tos],
                raw=raw,
            )
        except Exception:
            log.exception("the mail catcher could not keep a message")
            return "451 Requested action aborted: local error in processing"
        return "250 OK"


def _state(sock: socket.socket) -> StateFactory[MailCatcher]:
    @contextlib.asynccontextmanager
    async def catcher_state(resources: Resources) -> AsyncIterator[MailCatcher]:
        # aiosmtpd logs every command at INFO; one line per session is not worth a log
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        handler = _Keep(resources.pool)
        loop = asyncio.get_running_loop()

        def protocol() -> Any:
            return SMTP(handler, hostname="rampart-mail-catcher", data_size_limit=MAX_MESSAGE_BYTES)

        server = await loop.create_server(protocol, sock=sock)
        host, port = sock.getsockname()[:2]
        log.info("mail catcher listening", extra={"smtp": f"{host}:{port}"})
        try:
            yield MailCatcher(host=str(host), port=int(port))
        finally:
            server.close()
            await server.wait_closed()

    return catcher_state


def listening_socket(host: str = "127.0.0.1") -> socket.socket:
    """A TCP socket bound to a free port of ``host``, for :func:`catcher_spec`."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    sock.listen(64)
    sock.setblocking(False)
    return sock


def catcher_spec(sock: socket.socket) -> ServiceSpec[MailCatcher]:
    """The catcher's spec, serving SMTP on ``sock`` (see :func:`listening_socket`)."""
    from rampart.mailcatcher.views import router

    return ServiceSpec(
        name="mail-catcher",
        schema=store.SCHEMA,
        migrations_package="rampart.mailcatcher",
        state=_state(sock),
        routers=(router,),
    )
