"""The connectors this process runs with: loaded and checked at start, read by the routes."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable

from rampart.core.connectors import ConnectorRegistry
from rampart.core.problems import Problem
from rampart.core.runtime import Resources

log = logging.getLogger(__name__)


class InstalledConnectors:
    """Holds the registry found at start; a declaration that contradicts the catalog stops it."""

    def __init__(self, load: Callable[[], ConnectorRegistry]) -> None:
        self._load = load
        self._registry: ConnectorRegistry | None = None

    def registry(self) -> ConnectorRegistry:
        """The loaded registry; a FastAPI dependency for the routes."""
        if self._registry is None:
            raise Problem(503, "the connector catalog is not loaded yet")
        return self._registry

    @contextlib.asynccontextmanager
    async def loaded(self, _resources: Resources) -> AsyncIterator[None]:
        """A service worker: load the connectors when the service starts."""
        registry = self._load()
        log.info(
            "connectors loaded",
            extra={"connectors": [c.name for c in registry]},
        )
        self._registry = registry
        yield
