"""Syslog listeners for CEF: TCP (RFC 6587 framing) and UDP, off unless a port is set."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from prometheus_client import Counter

from rampart.core.metrics import Metrics
from rampart.core.workers import cancel_requested
from rampart.ingest.adapters.arcsight import event_from_line
from rampart.ingest.events.normalized import NormalizedEvent
from rampart.ingest.events.store import Submission
from rampart.ingest.listeners import syslog_format
from rampart.ingest.sources.config import SourceConfig
from rampart.ingest.state import IngestState

log = logging.getLogger(__name__)

QUEUE_SIZE = 10_000
BATCH = 500


def _default_source(name: str) -> SourceConfig:
    return SourceConfig(
        id=None,
        name=name,
        kind="arcsight",
        auth="bearer",
        default_labels=[],
        default_severity="medium",
        severity_map={},
        sla_minutes={},
        workbook=None,
        mapping=None,
        secrets=(),
    )


class SyslogSink:
    """Turns received syslog messages into events and writes them in batches."""

    def __init__(self, ingest: IngestState, counters: dict[str, Any]) -> None:
        self._ingest = ingest
        self._queue: asyncio.Queue[tuple[bytes, str]] = asyncio.Queue(QUEUE_SIZE)
        self._counters = counters
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start writing what arrives."""
        self._task = asyncio.create_task(self._drain_forever(), name="syslog-sink")

    async def stop(self) -> None:
        """Write what is queued, then stop."""
        while not self._queue.empty():
            await self._drain_once()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def put(self, data: bytes, peer: str) -> None:
        """Queue a message, waiting while the queue is full (TCP pushes back)."""
        await self._queue.put((data, peer))

    def count(self, outcome: str) -> None:
        """Count one connection outcome (``connections_refused``, ``connections_idle``)."""
        self._counters[outcome].inc()

    def offer(self, data: bytes, peer: str) -> None:
        """Queue a message if there is room (UDP cannot push back); count a drop otherwise."""
        try:
            self._queue.put_nowait((data, peer))
        except asyncio.QueueFull:
            self._counters["dropped"].inc()

    async def _source(self) -> SourceConfig:
        name = self._ingest.settings.syslog_source
        if name is None:
            return _default_source("syslog")
        config = await self._ingest.sources.get(
            pool=self._ingest.pool, keyring=self._ingest.keyring, name=name
        )
        return config or _default_source(name)

    async def _drain_forever(self) -> None:
        while True:
            first = await self._queue.get()
            try:
                await self._drain_once([first])
            except Exception as exc:
                if cancel_requested():
                    raise asyncio.CancelledError from exc
                log.exception("writing syslog events failed; retrying")
                await asyncio.sleep(1)

    async def _drain_once(self, taken: list[tuple[bytes, str]] | None = None) -> None:
        taken = taken or []
        while not self._queue.empty() and len(taken) < BATCH:
            taken.append(self._queue.get_nowait())
        if not taken:
            return
        source = await self._source()
        events: list[NormalizedEvent] = []
        for data, peer in taken:
            message = syslog_format.parse(data)
            outcome = event_from_line(message.message, source)
            if isinstance(outcome, NormalizedEvent):
                outcome.data["syslog"] = {
                    "rfc": message.rfc,
                    "hostname": message.hostname,
                    "app": message.app,
                    "facility": message.facility,
                    "severity": message.severity,
                    "peer": peer,
                }
                events.append(outcome)
            else:
                self._counters["rejected"].inc()
                log.warning(
                    "syslog message refused: %s", outcome, extra={"peer": peer, "rfc": message.rfc}
                )
        if events:
            sla = self._ingest.settings.sla_for(source.sla_minutes)
            try:
                await self._ingest.writer.write(
                    Submission(events=events, sla_minutes=sla, workbook=source.workbook)
                )
            except Exception:
                # keep the messages: put them back before the retry
                for item in taken:
                    self.offer(*item)
                raise
            self._counters["accepted"].inc(len(events))


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, sink: SyslogSink) -> None:
        self._sink = sink

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self._sink.offer(data, f"{addr[0]}:{addr[1]}")


def _counters(metrics: Metrics) -> dict[str, Any]:
    counter = Counter(
        "rampart_ingest_syslog_messages_total",
        "Syslog messages by outcome",
        ["outcome"],
        registry=metrics.registry,
    )
    connections = Counter(
        "rampart_ingest_syslog_connections_closed_total",
        "TCP connections the listener closed: refused over the cap, or idle",
        ["reason"],
        registry=metrics.registry,
    )
    out = {k: counter.labels(k) for k in ("accepted", "rejected", "dropped")}
    out["connections_refused"] = connections.labels("refused")
    out["connections_idle"] = connections.labels("idle")
    return out


@contextlib.asynccontextmanager
async def syslog_listeners(ingest: IngestState) -> AsyncIterator[None]:
    """A worker: listen on the configured TCP and UDP ports while the service runs."""
    settings = ingest.settings
    if settings.syslog_tcp_port is None and settings.syslog_udp_port is None:
        yield
        return
    sink = SyslogSink(ingest, _counters(ingest.metrics))
    sink.start()
    max_size = settings.syslog_max_message
    idle_s = settings.syslog_idle_timeout_s
    open_connections = 0

    async def on_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal open_connections
        peer = writer.get_extra_info("peername")
        name = f"{peer[0]}:{peer[1]}" if peer else "?"
        if open_connections >= settings.syslog_max_connections:
            # refused before anything is read: idle or slow senders cannot hold every slot
            sink.count("connections_refused")
            log.warning(
                "syslog connection refused: %d are open",
                open_connections,
                extra={"peer": name},
            )
            writer.close()
            return
        open_connections += 1
        try:
            while True:
                # a whole message within the idle time, or the connection is closed
                async with asyncio.timeout(idle_s):
                    frame = await syslog_format.read_frame(reader, max_size=max_size)
                if frame is None:
                    break
                if frame.strip():
                    await sink.put(frame, name)
        except TimeoutError:
            sink.count("connections_idle")
            log.warning("syslog connection idle for %ss: closed", idle_s, extra={"peer": name})
        except (syslog_format.FramingError, asyncio.IncompleteReadError, ConnectionError) as exc:
            log.warning("syslog connection closed: %s", exc, extra={"peer": name})
        finally:
            open_connections -= 1
            writer.close()

    servers: list[Any] = []
    transport = None
    try:
        if settings.syslog_tcp_port is not None:
            server = await asyncio.start_server(
                on_connection, settings.syslog_host, settings.syslog_tcp_port, limit=max_size + 64
            )
            servers.append(server)
            log.info("syslog TCP listening", extra={"port": settings.syslog_tcp_port})
        if settings.syslog_udp_port is not None:
            transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
                lambda: _Udp(sink), local_addr=(settings.syslog_host, settings.syslog_udp_port)
            )
            log.info("syslog UDP listening", extra={"port": settings.syslog_udp_port})
        yield
    finally:
        for server in servers:
            server.close()
        if transport is not None:
            transport.close()
        await sink.stop()
