"""One replica's engine: its playbook processes, its clients, its loops, made per running app.

Consumers, routes and background loops of one app share one ``Engine``; ``EngineRuntime``
makes it from the app's ``Resources`` (no module-level state), so several apps in one
process (tests, embedded mode) each have their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx

from rampart.core.errors import TransientError
from rampart.core.runtime import Resources
from rampart.engine import sources, timers, versions
from rampart.engine.clients import AssetDirectory, EventSource, HttpAssetDirectory, HttpEventSource
from rampart.engine.config import EngineSettings
from rampart.engine.processes import PlaybookProcesses, ProcessDied, StepTimeout
from rampart.engine.versions import PlaybookVersion

log = logging.getLogger(__name__)

READY_TIMEOUT_S = 120.0

EventSourceFactory = Callable[[Resources], EventSource]
AssetDirectoryFactory = Callable[[Resources], AssetDirectory]


class Engine:
    """The engine of one running app."""

    def __init__(
        self,
        resources: Resources,
        config: EngineSettings,
        *,
        events: EventSource | None,
        assets: AssetDirectory | None,
    ) -> None:
        self.resources = resources
        self.config = config
        self.processes = PlaybookProcesses(size=config.processes)
        self._events = events
        self._assets = assets
        self._clients: list[httpx.AsyncClient] = []
        self._versions: dict[tuple[str, int], PlaybookVersion] = {}
        self._ready = asyncio.Event()
        self._stopped = False

    @property
    def pool(self) -> Any:
        """The app's database pool."""
        return self.resources.pool

    @property
    def events(self) -> EventSource:
        """Where full events are read."""
        assert self._events is not None
        return self._events

    @property
    def assets(self) -> AssetDirectory:
        """Where ``ctx.assets`` looks assets up."""
        assert self._assets is not None
        return self._assets

    def _client(self, service: str) -> httpx.AsyncClient:
        client = httpx.AsyncClient(
            base_url=self.resources.settings.service_url(service),
            timeout=self.config.http_timeout_s,
        )
        self._clients.append(client)
        return client

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Start processes, clients, the first folder sync and the loops; stop them after."""
        settings = self.resources.settings
        token = settings.service_token.get_secret_value() if settings.service_token else None
        if self._events is None:
            self._events = HttpEventSource(self._client("ingest"), token=token)
        if self._assets is None:
            self._assets = HttpAssetDirectory(self._client("asset-registry"), token=token)
        async with contextlib.AsyncExitStack() as stack:
            for client in self._clients:
                stack.push_async_callback(client.aclose)
            await self.processes.start()
            stack.push_async_callback(self.processes.close)
            if self.config.playbooks_dir is not None:
                folder = sources.FolderSync(self, self.config.playbooks_dir)
                try:
                    await folder.sync()
                except Exception:
                    log.exception("the first sync of the playbooks folder failed")
                await stack.enter_async_context(
                    sources.watching(folder, interval_s=self.config.sync_interval_s)
                )
            await stack.enter_async_context(
                timers.running(
                    self,
                    interval_s=self.config.timer_interval_s,
                    concurrency=self.config.processes,
                )
            )
            self._ready.set()
            try:
                yield
            finally:
                self._ready.clear()
                self._stopped = True

    async def wait_ready(self) -> None:
        """Wait until the engine has started; ``TransientError`` if it does not in time."""
        if self._ready.is_set():
            return
        if self._stopped:
            raise TransientError("the playbook engine is stopping")
        try:
            await asyncio.wait_for(self._ready.wait(), READY_TIMEOUT_S)
        except TimeoutError:
            raise TransientError("the playbook engine is not started") from None

    async def version(self, *, conn: Any, name: str, version: int) -> PlaybookVersion | None:
        """A playbook version; versions never change, so they are cached (activation aside)."""
        key = (name, version)
        found = self._versions.get(key)
        if found is None:
            found = await versions.get(conn=conn, name=name, version=version)
            if found is not None:
                self._versions[key] = found
        return found

    async def lookup(self, what: str, args: dict[str, Any]) -> Any:
        """Answer a playbook's lookup during a pass (``ctx.assets``)."""
        if what == "assets":
            return await self.assets.names(tag=args.get("tag"), action=args.get("action"))
        raise ValueError(f"unknown lookup {what!r}")

    async def matches(self, version: PlaybookVersion, event: dict[str, Any]) -> bool:
        """Run a playbook's predicate on ``event``; an error or a timeout counts as no match."""
        try:
            reply = await self.processes.request(
                {
                    "op": "match",
                    "digest": version.digest,
                    "filename": version.filename,
                    "event": event,
                },
                budget_s=min(self.config.predicate_timeout_s, version.budget.step_seconds),
                source=(version.digest, version.source),
            )
        except (StepTimeout, ProcessDied) as exc:
            reply = {"op": "matched", "matched": False, "error": str(exc)}
        if reply.get("op") != "matched" or reply.get("error"):
            log.warning(
                "predicate of playbook %s v%d failed, treated as no match: %s",
                version.name,
                version.version,
                reply.get("error"),
                extra={"event_id": event.get("id")},
            )
            return False
        return bool(reply.get("matched"))


class EngineRuntime:
    """Makes and runs one ``Engine`` per running app, for its consumers, routes and loops."""

    def __init__(
        self,
        *,
        config: EngineSettings | None = None,
        events: EventSourceFactory | None = None,
        assets: AssetDirectoryFactory | None = None,
    ) -> None:
        self._config = config
        self._events = events
        self._assets = assets
        # keyed by id(); the Resources is kept alongside so the id cannot be reused meanwhile
        self._engines: dict[int, tuple[Resources, Engine]] = {}

    def engine(self, resources: Resources) -> Engine:
        """The engine of the app that ``resources`` belong to."""
        entry = self._engines.get(id(resources))
        if entry is None:
            config = self._config or EngineSettings()
            engine = Engine(
                resources,
                config,
                events=self._events(resources) if self._events else None,
                assets=self._assets(resources) if self._assets else None,
            )
            entry = (resources, engine)
            self._engines[id(resources)] = entry
        return entry[1]

    @contextlib.asynccontextmanager
    async def worker(self, resources: Resources) -> AsyncIterator[None]:
        """The app's engine, running for as long as the app does."""
        engine = self.engine(resources)
        # the stopped engine stays in place: handlers still draining learn it stopped,
        # instead of making a new one that never starts
        async with engine.running():
            yield
