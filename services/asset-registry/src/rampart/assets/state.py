"""The registry's running state: the connectors loaded and checked at start, and the keyring.

Routes reach it as ``state: RegistryDep``; a declaration that contradicts the catalog stops
the start, so a running registry always holds a sound set of connectors.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from rampart.core.connectors import ConnectorRegistry
from rampart.core.crypto import Keyring
from rampart.core.deps import service_state
from rampart.core.runtime import Resources, StateFactory

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class InstalledConnectors:
    """The connectors this process runs with, and the keyring that seals their configuration."""

    registry: ConnectorRegistry
    keyring: Keyring


def installed_connectors(
    load: Callable[[], ConnectorRegistry],
) -> StateFactory[InstalledConnectors]:
    """The state factory: ``load`` finds the installed connectors when the service starts."""

    @contextlib.asynccontextmanager
    async def start(resources: Resources) -> AsyncIterator[InstalledConnectors]:
        registry = load()
        log.info("connectors loaded", extra={"connectors": [c.name for c in registry]})
        yield InstalledConnectors(registry=registry, keyring=resources.keyring)

    return start


Installed = Annotated[InstalledConnectors, Depends(service_state(InstalledConnectors))]
"""The registry's running state, for a route."""
