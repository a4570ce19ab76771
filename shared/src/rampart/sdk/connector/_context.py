"""What an action may use besides its configuration and parameters: its transports above all.

A connector never opens a network client of its own: it asks ``ctx.http(...)`` for an
``httpx.AsyncClient`` and ``ctx.ssh(...)`` for an SSH connection, so a test (or the
connector harness of ``rampart.sdk.testing``) can point every action at a local fake.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from rampart.core.vault import Vault

__all__ = ["ActionContext", "HttpClientFactory", "SshConnect", "connect_ssh"]


class HttpClientFactory(Protocol):
    """Makes the HTTP client an action talks to its product with (``httpx.AsyncClient``)."""

    def __call__(self, **options: Any) -> httpx.AsyncClient: ...


class SshConnect(Protocol):
    """Opens an SSH connection: ``await ctx.ssh(host, port, username=..., ...)`` takes
    ``asyncssh.connect``'s options and returns an ``asyncssh.SSHClientConnection``."""

    def __call__(self, host: str, port: int, **options: Any) -> Awaitable[Any]: ...


async def connect_ssh(host: str, port: int, **options: Any) -> Any:
    """The real SSH transport: ``asyncssh.connect`` (asyncssh is the connector's dependency)."""
    import asyncssh

    return await asyncssh.connect(host, port, **options)


def _http_client(**options: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(**options)


@dataclass(frozen=True, slots=True)
class ActionContext:
    """One action run's surroundings: the asset's name, a logger, the vault, the transports."""

    asset: str
    vault: Vault | None = None
    log: logging.Logger | logging.LoggerAdapter[logging.Logger] = field(
        default_factory=lambda: logging.getLogger("rampart.connector")
    )
    http: HttpClientFactory = _http_client
    ssh: SshConnect = connect_ssh
