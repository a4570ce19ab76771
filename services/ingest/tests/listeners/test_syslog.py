"""CEF over syslog, sent by util-linux ``logger`` as an operator's test would.

TCP with RFC 6587 octet counting and with newline framing, UDP, RFC 5424 and RFC 3164
headers; the events carry the source's labels and severity map.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from services.ingest.tests._ingest_helpers import IngestApp, running_ingest

pytestmark = pytest.mark.skipif(shutil.which("logger") is None, reason="util-linux logger missing")


def _free_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def syslog(
    database_url: str, pool: Any, namespace: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[IngestApp, int, int, str]]:
    tcp, udp = _free_port(socket.SOCK_STREAM), _free_port(socket.SOCK_DGRAM)
    name = f"syslog-{uuid.uuid4().hex[:6]}"
    monkeypatch.setenv("RAMPART_INGEST_SYSLOG_TCP_PORT", str(tcp))
    monkeypatch.setenv("RAMPART_INGEST_SYSLOG_UDP_PORT", str(udp))
    monkeypatch.setenv("RAMPART_INGEST_SYSLOG_SOURCE", name)
    async for app in running_ingest(database_url, pool, namespace):
        await app.make_source(
            name=name, kind="arcsight", default_labels=["syslog"], severity_map={"low": "high"}
        )
        yield app, tcp, udp, name


async def _logger(*args: str) -> None:
    process = await asyncio.create_subprocess_exec(
        "logger",
        "--server",
        "127.0.0.1",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(process.communicate(), 20)
    assert process.returncode == 0, err.decode()


async def _events(app: IngestApp, source: str, count: int) -> list[dict[str, Any]]:
    for _ in range(200):
        rows = await app.pool.fetch(
            "SELECT id, name, severity, labels, source_ref, data FROM ingest.events "
            "WHERE source = $1 ORDER BY name",
            source,
        )
        if len(rows) >= count:
            return [dict(r) for r in rows]
        await asyncio.sleep(0.05)
    raise AssertionError(f"only {len(rows)} of {count} syslog events arrived")


async def test_logger_traffic_over_tcp_and_udp(syslog: tuple[IngestApp, int, int, str]) -> None:
    app, tcp, udp, source = syslog
    cef = "CEF:0|Acme|IDS|1.0|{sig}|{name}|Low|src=10.20.30.40 suser=CORP\\\\dave externalId={ref}"
    await _logger(
        "--tcp",
        "--port",
        str(tcp),
        "--rfc5424",
        "--octet-count",
        "-t",
        "ids",
        cef.format(sig=1, name="a tcp octet counted", ref="t-1"),
    )
    await _logger(
        "--tcp",
        "--port",
        str(tcp),
        "--rfc3164",
        "-t",
        "ids",
        cef.format(sig=2, name="b tcp newline framed", ref="t-2"),
    )
    await _logger(
        "--udp",
        "--port",
        str(udp),
        "--rfc5424",
        "-t",
        "ids",
        cef.format(sig=3, name="c udp 5424", ref="t-3"),
    )
    await _logger(
        "--udp",
        "--port",
        str(udp),
        "--rfc3164",
        "-t",
        "ids",
        cef.format(sig=4, name="d udp 3164", ref="t-4"),
    )
    await _logger("--udp", "--port", str(udp), "--rfc3164", "not a CEF message at all")
    events = await _events(app, source, 4)
    assert [e["name"] for e in events] == [
        "a tcp octet counted",
        "b tcp newline framed",
        "c udp 5424",
        "d udp 3164",
    ]
    for event in events:
        assert event["severity"] == "high", "the source's map turns Low into high"
        assert event["labels"] == ["syslog"]
        assert event["data"]["extensions"]["suser"] == "CORP\\dave"
        assert event["data"]["syslog"]["app"] == "ids"
    assert [e["data"]["syslog"]["rfc"] for e in events] == ["5424", "3164", "5424", "3164"]
    artifact = await app.pool.fetchrow(
        "SELECT cef, contains FROM ingest.artifacts WHERE event_id = $1", events[0]["id"]
    )
    assert artifact["cef"]["sourceAddress"] == "10.20.30.40"
    assert artifact["contains"]["sourceUserName"] == ["user name"]
    metrics = (await app.client.get("/metrics")).text
    assert 'rampart_ingest_syslog_messages_total{outcome="rejected"} 1.0' in metrics

    # a resend of the same line merges into the event it made
    await _logger(
        "--tcp",
        "--port",
        str(tcp),
        "--rfc5424",
        "--octet-count",
        "-t",
        "ids",
        cef.format(sig=1, name="a tcp octet counted", ref="t-1"),
    )
    await asyncio.sleep(0.5)
    assert len(await _events(app, source, 4)) == 4
