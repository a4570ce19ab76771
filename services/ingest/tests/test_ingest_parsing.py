"""Pure parsing: CEF (ArcSight CEF Implementation Standard), syslog (RFC 5424, 3164, 6587),
``contains`` detection, severity maps, times and Standard Webhooks signatures."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import pytest

from rampart.ingest.listeners import syslog_format
from rampart.ingest.adapters import cef
from rampart.ingest.events.contains import detect
from rampart.ingest.events.normalized import clean_json, clean_text, parse_time
from rampart.ingest.adapters.severity import map_severity
from rampart.ingest.sources.secrets import LiveSecret, hash_secret, new_secret, secret_key
from rampart.ingest.sources.webhook_auth import Unauthorized, check_bearer, check_signature, sign


def test_cef_header_and_extension_escapes() -> None:
    line = (
        "CEF:0|Acme\\|Corp|Fire\\\\Wall|1.0|4000|Port \\| scan|7|"
        "src=10.0.0.1 msg=multi word value with a\\=b and c\\\\d\\nnext "
        "cs1Label=Policy Name cs1=Block all | really act=blocked"
    )
    record = cef.parse(line)
    assert record.vendor == "Acme|Corp"
    assert record.product == "Fire\\Wall"
    assert record.name == "Port | scan"
    assert record.severity == "7"
    assert record.extensions == {
        "src": "10.0.0.1",
        "msg": "multi word value with a=b and c\\d\nnext",
        "cs1Label": "Policy Name",
        "cs1": "Block all | really",
        "act": "blocked",
    }
    fields = record.fields()
    assert fields["sourceAddress"] == "10.0.0.1"
    assert fields["deviceAction"] == "blocked"
    assert fields["deviceVendor"] == "Acme|Corp"


def test_cef_after_a_syslog_header_and_without_extensions() -> None:
    record = cef.parse("<134>Jan 18 11:07:53 host CEF:1|V|P|1|sig|Name only|Low|")
    assert record.version == "1"
    assert record.extensions == {}
    assert cef.parse("CEF:0|V|P|1|sig|no trailing pipe|3").extensions == {}


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not cef at all", "CEF:"),
        ("CEF:0|V|P|1|sig", "of 7"),
        ("CEF:x|V|P|1|sig|name|3|", "version"),
        ("CEF:0|V|P|1|sig||3|", "Name"),
        ("CEF:0|V|P|1|sig|name|3|garbage before src=1", "before its first key"),
        ("CEF:0|V|P|1|sig|name|3|no pairs here", "no key=value"),
        ("CEF:0|V|P|1|sig|name\\", "backslash"),
    ],
)
def test_cef_errors_say_what_is_wrong(line: str, message: str) -> None:
    with pytest.raises(cef.CefError, match=message):
        cef.parse(line)


def test_cef_escape_round_trip() -> None:
    value = "a=b c\\d\nline | pipe"
    line = f"CEF:0|{cef.escape_header('V|x')}|P|1|s|n|1|msg={cef.escape_value(value)} dst=1.2.3.4"
    record = cef.parse(line)
    assert record.vendor == "V|x"
    assert record.extensions == {"msg": value, "dst": "1.2.3.4"}


def test_syslog_headers() -> None:
    modern = syslog_format.parse(
        b"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 "
        b'[exampleSDID@32473 iut="3" eventSource="App]lication"] \xef\xbb\xbfCEF:0|V|P|1|s|n|1|'
    )
    assert (modern.facility, modern.severity) == (20, 5)
    assert modern.hostname == "mymachine.example.com"
    assert modern.app == "evntslog"
    assert modern.message == "CEF:0|V|P|1|s|n|1|"
    assert modern.rfc == "5424"
    no_sd = syslog_format.parse(b"<13>1 2024-01-01T00:00:00Z h app 12 - - CEF:0|V|P|1|s|n|1|")
    assert no_sd.message == "CEF:0|V|P|1|s|n|1|"
    bsd = syslog_format.parse(b"<34>Oct 11 22:14:15 mymachine su[123]: CEF:0|V|P|1|s|n|1|\n")
    assert bsd.rfc == "3164"
    assert bsd.hostname == "mymachine"
    assert bsd.app == "su"
    assert bsd.message == "CEF:0|V|P|1|s|n|1|"
    bare = syslog_format.parse(b"CEF:0|V|P|1|s|n|1|")
    assert bare.rfc == "none"
    assert bare.message == "CEF:0|V|P|1|s|n|1|"


async def _frames(data: bytes, max_size: int = 1000) -> list[bytes]:
    reader = asyncio.StreamReader(limit=max_size + 64)
    reader.feed_data(data)
    reader.feed_eof()
    out = []
    while (frame := await syslog_format.read_frame(reader, max_size=max_size)) is not None:
        out.append(frame)
    return out


async def test_tcp_framing_octet_counted_and_newline() -> None:
    first = b"<13>1 - h a - - - hello world"
    second = b"<13>Oct 11 22:14:15 h t: with\nnewline inside"
    stream = b"%d %s%d %s" % (len(first), first, len(second), second)
    assert await _frames(stream) == [first, second]
    assert await _frames(b"<13>one\n<13>two\r\n\n<13>three") == [
        b"<13>one",
        b"<13>two",
        b"<13>three",
    ]
    with pytest.raises(syslog_format.FramingError):
        await _frames(b"5000 " + b"x" * 10)


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("sourceAddress", "192.0.2.1", ["ip"]),
        ("whatever", "2001:db8::1", ["ip", "ipv6"]),
        ("fileHash", "d41d8cd98f00b204e9800998ecf8427e", ["hash", "md5"]),
        ("fileHash", "da39a3ee5e6b4b0d3255bfef95601890afd80709", ["hash", "sha1"]),
        (
            "x",
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            ["hash", "sha256"],
        ),
        ("requestUrl", "https://example.com/a?b=c", ["url"]),
        ("x", "http://198.51.100.9:8080/", ["url"]),
        ("destinationDnsDomain", "evil.example.org", ["domain"]),
        ("destinationHostName", "web-01.corp.example", ["host name", "domain"]),
        ("deviceHostName", "web-01", ["host name"]),
        ("sourceUserName", "alice", ["user name"]),
        ("x", "CORP\\alice", ["user name"]),
        ("x", "alice@example.com", ["user name", "email"]),
        ("sourceProcessId", 4711, ["process id"]),
        ("fileName", "invoice.pdf.exe", ["file name"]),
        ("x", "dropper.exe", ["file name"]),
        ("message", "10.0.0.1 said hello", []),
        ("bytesIn", 10, []),
        ("x", "just words", []),
        ("x", True, []),
    ],
)
def test_contains_detection(field: str, value: object, expected: list[str]) -> None:
    assert detect(field, value) == expected


def test_severity_maps_every_vendor_scale() -> None:
    assert map_severity("High", severity_map={}, default="medium") == "high"
    assert map_severity("informational", severity_map={}, default="medium") == "low"
    assert map_severity("Very-High", severity_map={}, default="medium") == "critical"
    assert map_severity(0, severity_map={}, default="medium") == "low"
    assert map_severity("6", severity_map={}, default="low") == "medium"
    assert map_severity(8, severity_map={}, default="low") == "high"
    assert map_severity(10, severity_map={}, default="low") == "critical"
    assert map_severity("Unknown", severity_map={}, default="medium") == "medium"
    assert map_severity(99, severity_map={}, default="low") == "low"
    assert map_severity("p1", severity_map={"p1": "critical"}, default="low") == "critical"
    assert map_severity(None, severity_map={}, default="high") == "high"


def test_times_from_every_form() -> None:
    expected = datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert parse_time(1700000000) == expected
    assert parse_time(1700000000000) == expected
    assert parse_time("1700000000.000") == expected
    assert parse_time("2023-11-14T22:13:20Z") == expected
    assert parse_time("Nov 14 2023 22:13:20") == expected
    assert parse_time("Nov 14 2023 22:13:20 UTC") == expected
    assert parse_time(None) is None
    for bad in ("soon", True, [1], -5, 1e20):
        with pytest.raises(ValueError, match="time"):
            parse_time(bad)


def test_text_is_made_storable() -> None:
    assert clean_text("a\x00b") == "ab"
    assert clean_text("x\ud800y") == "x\ufffdy"
    assert clean_json({"k\x00": ["\x00", float("nan"), 1]}) == {"k": ["", None, 1]}


def test_standard_webhooks_signatures() -> None:
    secret = new_secret()
    live = (LiveSecret(hash_secret(secret), secret_key(secret)),)
    body = b'{"a": 1}'
    now = int(time.time())
    signature = sign(secret, webhook_id="msg_1", timestamp=now, body=body)
    headers = {"webhook-id": "msg_1", "webhook-timestamp": str(now), "webhook-signature": signature}
    assert check_signature(headers, body, live, window_s=300) == "msg_1"
    several = {**headers, "webhook-signature": f"v1,AAAA v2,zzz {signature}"}
    assert check_signature(several, body, live, window_s=300) == "msg_1"
    for changed in (
        {**headers, "webhook-id": "msg_2"},
        {**headers, "webhook-timestamp": str(now + 1)},
        {**headers, "webhook-signature": "v1,bm9wZQ=="},
        {k: v for k, v in headers.items() if k != "webhook-signature"},
    ):
        with pytest.raises(Unauthorized):
            check_signature(changed, body, live, window_s=300)
    with pytest.raises(Unauthorized, match="signature"):
        check_signature(headers, body + b" ", live, window_s=300)
    with pytest.raises(Unauthorized, match="timestamp"):
        check_signature(headers, body, live, window_s=300, now=now + 301)
    check_bearer(f"Bearer {secret}", live)
    with pytest.raises(Unauthorized):
        check_bearer(f"Bearer {secret}x", live)
    with pytest.raises(Unauthorized):
        check_bearer(None, live)
