"""The console's running state: one HTTP client for the services' APIs, and the session key."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx

from rampart.core.crypto import Keyring
from rampart.core.runtime import Resources
from rampart.core.settings import Settings

__all__ = ["ConsoleState", "console_state"]


@dataclass(frozen=True)
class ConsoleState:
    """What every page handler uses."""

    settings: Settings
    keyring: Keyring
    http: httpx.AsyncClient


@asynccontextmanager
async def console_state(resources: Resources) -> AsyncIterator[ConsoleState]:
    """One client, kept for the process's life (connections are reused across pages)."""
    async with httpx.AsyncClient(
        timeout=httpx.Timeout(15.0), limits=httpx.Limits(max_connections=50)
    ) as client:
        yield ConsoleState(settings=resources.settings, keyring=resources.keyring, http=client)
