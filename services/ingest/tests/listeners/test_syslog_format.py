"""Syslog messages: RFC 5424 and RFC 3164 headers, RFC 6587 framing over TCP."""

from __future__ import annotations

import asyncio

import pytest

from rampart.ingest.listeners import syslog_format


def test_an_rfc_5424_header_with_structured_data_and_a_bom() -> None:
    modern = syslog_format.parse(
        b"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 "
        b'[exampleSDID@32473 iut="3" eventSource="App]lication"] \xef\xbb\xbfCEF:0|V|P|1|s|n|1|'
    )
    assert (modern.facility, modern.severity) == (20, 5)
    assert modern.hostname == "mymachine.example.com"
    assert modern.app == "evntslog"
    assert modern.message == "CEF:0|V|P|1|s|n|1|"
    assert modern.rfc == "5424"


def test_an_rfc_5424_header_without_structured_data() -> None:
    no_sd = syslog_format.parse(b"<13>1 2024-01-01T00:00:00Z h app 12 - - CEF:0|V|P|1|s|n|1|")
    assert no_sd.message == "CEF:0|V|P|1|s|n|1|"


def test_an_rfc_3164_header() -> None:
    bsd = syslog_format.parse(b"<34>Oct 11 22:14:15 mymachine su[123]: CEF:0|V|P|1|s|n|1|\n")
    assert bsd.rfc == "3164"
    assert bsd.hostname == "mymachine"
    assert bsd.app == "su"
    assert bsd.message == "CEF:0|V|P|1|s|n|1|"


def test_a_message_without_a_header_is_all_text() -> None:
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


async def test_octet_counted_frames_may_hold_newlines() -> None:
    first = b"<13>1 - h a - - - hello world"
    second = b"<13>Oct 11 22:14:15 h t: with\nnewline inside"
    stream = b"%d %s%d %s" % (len(first), first, len(second), second)
    assert await _frames(stream) == [first, second]


async def test_newline_framing_skips_empty_lines_and_takes_a_last_line_without_newline() -> None:
    assert await _frames(b"<13>one\n<13>two\r\n\n<13>three") == [
        b"<13>one",
        b"<13>two",
        b"<13>three",
    ]


async def test_a_count_over_the_maximum_is_a_framing_error() -> None:
    with pytest.raises(syslog_format.FramingError):
        await _frames(b"5000 " + b"x" * 10)
