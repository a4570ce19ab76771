"""One replica's engine: its playbook processes, its clients and its playbooks folder.

``EngineFactory`` is the engine's ``ServiceSpec.state``: the platform enters it before the
engine's queues and workers start (so a message never finds the engine half started) and
hands the ``Engine`` it yields to handlers, workers and routes (``EngineDep``).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Annotated

import httpx
from fastapi import Depends

from rampart.core.deps import Conn, service_state
from rampart.core.registry_client import open_registry_client
from rampart.core.runtime import Resources
from rampart.core.store import Notifications, Pool
from rampart.engine.clients import AssetDirectory, EventSource, HttpAssetDirectory, HttpEventSource
from rampart.engine.config import EngineSettings
from rampart.engine.playbooks import versions
from rampart.engine.playbooks.sources import FolderSync
from rampart.engine.playbooks.versions import PlaybookVersion
from rampart.engine.sandbox.processes import PlaybookProcesses

log = logging.getLogger(__name__)

EventSourceFactory = Callable[[Resources], EventSource]
AssetDirectoryFactory = Callable[[Resources], AssetDirectory]


@dataclass(frozen=True, slots=True)
class Engine:
    """The running engine of one app: what its handlers, workers and routes share."""

    config: EngineSettings
    pool: Pool
    notifications: Notifications
    processes: PlaybookProcesses
    events: EventSource
    assets: AssetDirectory
    folder: FolderSync | None = None
    _versions: dict[tuple[str, int], PlaybookVersion] = field(default_factory=dict)

    async def version(self, *, conn: Conn, name: str, version: int) -> PlaybookVersion | None:
        """A playbook version; versions never change, so they are cached (activation aside)."""
        key = (name, version)
        found = self._versions.get(key)
        if found is None:
            found = await versions.get(conn=conn, name=name, version=version)
            if found is not None:
                self._versions[key] = found
        return found


EngineDep = Annotated[Engine, Depends(service_state(Engine))]
"""The running engine, for routes."""


@dataclass(frozen=True, slots=True)
class EngineFactory:
    """Makes the ``Engine`` of a running app; ``events``/``assets`` replace the HTTP clients.

    ``config`` defaults to ``RAMPART_ENGINE_*`` read when the engine starts.
    """

    config: EngineSettings | None = None
    events: EventSourceFactory | None = None
    assets: AssetDirectoryFactory | None = None

    @contextlib.asynccontextmanager
    async def __call__(self, resources: Resources) -> AsyncIterator[Engine]:
        """Start the clients, the playbook processes and the first sync of the folder."""
        config = self.config or EngineSettings()
        settings = resources.settings
        token = settings.service_token.get_secret_value() if settings.service_token else None
        async with contextlib.AsyncExitStack() as stack:

            def client(service: str) -> httpx.AsyncClient:
                made = httpx.AsyncClient(
                    base_url=settings.service_url(service), timeout=config.http_timeout_s
                )
                stack.push_async_callback(made.aclose)
                return made

            events = (
                self.events(resources)
                if self.events
                else HttpEventSource(client("ingest"), token=token)
            )
            if self.assets:
                assets: AssetDirectory = self.assets(resources)
            else:
                registry = await stack.enter_async_context(open_registry_client(settings))
                assets = HttpAssetDirectory(registry)
            processes = PlaybookProcesses(size=config.processes)
            await processes.start()
            stack.push_async_callback(processes.close)
            folder = None
            if config.playbooks_dir is not None:
                folder = FolderSync(
                    pool=resources.pool,
                    processes=processes,
                    folder=config.playbooks_dir,
                    timeout_s=config.inspect_timeout_s,
                )
                try:
                    await folder.sync()
                except Exception:
                    log.exception("the first sync of the playbooks folder failed")
            yield Engine(
                config, resources.pool, resources.notifications, processes, events, assets, folder
            )
