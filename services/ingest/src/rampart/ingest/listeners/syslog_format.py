"""Syslog messages: RFC 6587 framing over TCP, and RFC 5424 or RFC 3164 headers."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

_PRI = re.compile(rb"^<(\d{1,3})>")
_RFC3164_TS = re.compile(r"^[A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2} ")
MAX_COUNT_DIGITS = 10


class FramingError(ValueError):
    """The TCP stream is not RFC 6587 syslog; the connection should close."""


@dataclass(frozen=True, slots=True)
class SyslogMessage:
    """A syslog message's header fields (those present) and its text."""

    facility: int | None
    severity: int | None
    hostname: str | None
    app: str | None
    message: str
    rfc: str


async def read_frame(reader: asyncio.StreamReader, *, max_size: int) -> bytes | None:
    """The next message of a TCP stream, octet-counted or newline-framed; None at the end."""
    first = await reader.read(1)
    while first in (b"\n", b"\r"):
        first = await reader.read(1)
    if not first:
        return None
    if first.isdigit():
        digits = first
        while True:
            char = await reader.readexactly(1)
            if char == b" ":
                break
            if not char.isdigit() or len(digits) >= MAX_COUNT_DIGITS:
                # not a count after all: a newline-framed message that starts with a digit
                rest = await _until_newline(reader, max_size)
                return digits + char + rest
            digits += char
        size = int(digits)
        if size > max_size:
            raise FramingError(f"an octet-counted frame of {size} bytes is over {max_size}")
        return await reader.readexactly(size)
    return first + await _until_newline(reader, max_size)


async def _until_newline(reader: asyncio.StreamReader, max_size: int) -> bytes:
    try:
        line = await reader.readuntil(b"\n")
    except asyncio.IncompleteReadError as exc:
        line = exc.partial  # the last message of a stream may lack its newline
    except asyncio.LimitOverrunError:
        raise FramingError(f"a line is longer than {max_size} bytes") from None
    if len(line) > max_size:
        raise FramingError(f"a line is longer than {max_size} bytes")
    return line.rstrip(b"\r\n\x00")


def parse(data: bytes) -> SyslogMessage:
    """Split a message into its header and its text; a message without a header is all text."""
    text_bytes = data.rstrip(b"\r\n\x00")
    facility = severity = None
    match = _PRI.match(text_bytes)
    if match and int(match[1]) <= 191:
        pri = int(match[1])
        facility, severity = pri >> 3, pri & 7
        text_bytes = text_bytes[match.end() :]
    # NUL has no place in PostgreSQL text: headers and CEF text lose it here, once
    text = text_bytes.decode("utf-8", "replace").replace("\x00", "")
    if text.startswith("1 "):
        return _rfc5424(text[2:], facility, severity)
    if _RFC3164_TS.match(text):
        return _rfc3164(text[16:], facility, severity)
    return SyslogMessage(facility, severity, None, None, text.lstrip("\ufeff"), "none")


def _rfc5424(text: str, facility: int | None, severity: int | None) -> SyslogMessage:
    parts = text.split(" ", 5)
    if len(parts) < 6:
        return SyslogMessage(facility, severity, None, None, text, "5424")
    _timestamp, hostname, app, _procid, _msgid, rest = parts
    message = _skip_structured_data(rest)
    return SyslogMessage(
        facility, severity, _nil(hostname), _nil(app), message.lstrip("\ufeff"), "5424"
    )


def _skip_structured_data(rest: str) -> str:
    if rest.startswith("-"):
        return rest[2:] if rest.startswith("- ") else rest[1:]
    i = 0
    while i < len(rest) and rest[i] == "[":
        i += 1
        in_quotes = False
        while i < len(rest):
            char = rest[i]
            if char == "\\" and in_quotes:
                i += 2
                continue
            if char == '"':
                in_quotes = not in_quotes
            elif char == "]" and not in_quotes:
                i += 1
                break
            i += 1
    return rest[i + 1 :] if i < len(rest) and rest[i] == " " else rest[i:]


def _rfc3164(text: str, facility: int | None, severity: int | None) -> SyslogMessage:
    hostname, _, rest = text.partition(" ")
    app = None
    tag, sep, message = rest.partition(": ")
    if sep and " " not in tag and len(tag) <= 48:
        app = tag.split("[", 1)[0]
    else:
        message = rest
    return SyslogMessage(facility, severity, hostname or None, app, message, "3164")


def _nil(value: str) -> str | None:
    return None if value == "-" else value
