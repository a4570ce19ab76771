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

from rampart.ingest.spec import SPEC
from services.ingest.tests._ingest_api import MAX_BODY_BYTES, Ingest, using
from tests.harness import StartServices, eventually, memory_only

pytestmark = [
    memory_only,
    pytest.mark.skipif(shutil.which("logger") is None, reason="util-linux logger missing"),
]


def _free_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def syslog_env(request: pytest.FixtureRequest) -> dict[str, str]:
    """Extra ``RAMPART_INGEST_SYSLOG_*`` settings a test asks for (indirect parametrize)."""
    return dict(getattr(request, "param", {}))


@pytest.fixture
async def syslog(
    start_services: StartServices, monkeypatch: pytest.MonkeyPatch, syslog_env: dict[str, str]
) -> AsyncIterator[tuple[Ingest, int, int, str]]:
    tcp, udp = _free_port(socket.SOCK_STREAM), _free_port(socket.SOCK_DGRAM)
    name = f"syslog-{uuid.uuid4().hex[:6]}"
    monkeypatch.setenv("RAMPART_INGEST_SYSLOG_TCP_PORT", str(tcp))
    monkeypatch.setenv("RAMPART_INGEST_SYSLOG_UDP_PORT", str(udp))
    monkeypatch.setenv("RAMPART_INGEST_SYSLOG_SOURCE", name)
    for key, value in syslog_env.items():
        monkeypatch.setenv(f"RAMPART_INGEST_SYSLOG_{key}", value)
    async with (
        start_services([SPEC], max_body_bytes=MAX_BODY_BYTES) as running,
        using(running) as app,
    ):
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


async def _events(app: Ingest, source: str, count: int) -> list[dict[str, Any]]:
    async def arrived() -> list[dict[str, Any]]:
        rows = await app.harness.pool.fetch(
            "SELECT id, name, severity, labels, source_ref, data FROM ingest.events "
            "WHERE source = $1 ORDER BY name",
            source,
        )
        return [dict(r) for r in rows] if len(rows) >= count else []

    return await eventually(arrived, what=f"{count} syslog events")


def _accepted(app: Ingest) -> int:
    value = app.harness.state["metrics"].registry.get_sample_value(
        "rampart_ingest_syslog_messages_total", {"outcome": "accepted"}
    )
    return int(value or 0)


async def test_logger_traffic_over_tcp_and_udp(syslog: tuple[Ingest, int, int, str]) -> None:
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
    artifact = await app.harness.pool.fetchrow(
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
    await eventually(lambda: _accepted(app) == 5, what="the resend accepted")
    assert len(await _events(app, source, 4)) == 4


async def _send_tcp(port: int, *frames: bytes) -> None:
    """Octet-counted frames (RFC 6587) on one connection, as a forwarder writes them."""
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"".join(b"%d %s" % (len(frame), frame) for frame in frames))
    await writer.drain()
    writer.close()
    await writer.wait_closed()


async def test_nul_characters_in_headers_and_bodies_are_cleaned(
    syslog: tuple[Ingest, int, int, str],
) -> None:
    app, tcp, _, source = syslog
    await _send_tcp(
        tcp,
        b"<13>1 2024-06-01T10:00:00Z fw\x00-01 ids\x00 - - - "
        b"CEF:0|Acme|IDS|1.0|1|a nul in\x00 the name|Low|msg=x\x00y externalId=nul-1",
        b"<13>1 2024-06-01T10:00:00Z fw-02 ids - - - "
        b"CEF:0|Acme|IDS|1.0|2|b clean|Low|externalId=nul-2",
    )
    events = await _events(app, source, 2)
    assert [e["name"] for e in events] == ["a nul in the name", "b clean"]
    assert events[0]["data"]["syslog"]["hostname"] == "fw-01"
    assert events[0]["data"]["syslog"]["app"] == "ids"
    assert events[0]["data"]["extensions"]["msg"] == "xy"


def _closed_by_listener(app: Ingest, reason: str) -> int:
    value = app.harness.state["metrics"].registry.get_sample_value(
        "rampart_ingest_syslog_connections_closed_total", {"reason": reason}
    )
    return int(value or 0)


def _frame(ref: str) -> bytes:
    return b"<13>1 - fw ids - - - CEF:0|Acme|IDS|1.0|1|%s|Low|externalId=%s" % (
        ref.encode(),
        ref.encode(),
    )


@pytest.mark.parametrize("syslog_env", [{"MAX_CONNECTIONS": "2"}], indirect=True)
async def test_tcp_connections_over_the_cap_are_closed_at_once(
    syslog: tuple[Ingest, int, int, str],
) -> None:
    app, tcp, _, source = syslog
    held = []
    for ref in ("a-held", "b-held"):
        reader, writer = await asyncio.open_connection("127.0.0.1", tcp)
        frame = _frame(ref)
        writer.write(b"%d %s" % (len(frame), frame))
        await writer.drain()
        held.append((reader, writer))
    await _events(app, source, 2)  # both connections are being served
    reader, writer = await asyncio.open_connection("127.0.0.1", tcp)
    assert await asyncio.wait_for(reader.read(), 10) == b"", "a third connection was served"
    writer.close()
    assert _closed_by_listener(app, "refused") == 1
    # a slot freed by a closed connection serves the next sender
    _, first_writer = held.pop(0)
    first_writer.close()
    await first_writer.wait_closed()

    async def next_one_served() -> bool:
        await _send_tcp(tcp, _frame("c-after"))
        return (
            len(
                await app.harness.pool.fetch(
                    "SELECT 1 FROM ingest.events WHERE source = $1 AND source_ref = 'c-after'",
                    source,
                )
            )
            == 1
        )

    await eventually(next_one_served, interval=0.2, what="a connection after one closed")
    for _, other in held:
        other.close()


@pytest.mark.parametrize("syslog_env", [{"IDLE_TIMEOUT_S": "0.5"}], indirect=True)
async def test_idle_tcp_connections_are_closed(syslog: tuple[Ingest, int, int, str]) -> None:
    app, tcp, _, _ = syslog
    silent_reader, silent = await asyncio.open_connection("127.0.0.1", tcp)
    stalled_reader, stalled = await asyncio.open_connection("127.0.0.1", tcp)
    stalled.write(b"400 <13>1 - fw ids - - - CEF:0|half a message")  # then nothing more
    await stalled.drain()
    assert await asyncio.wait_for(silent_reader.read(), 10) == b""
    assert await asyncio.wait_for(stalled_reader.read(), 10) == b""
    await eventually(lambda: _closed_by_listener(app, "idle") == 2, what="two idle closes")
    silent.close()
    stalled.close()
