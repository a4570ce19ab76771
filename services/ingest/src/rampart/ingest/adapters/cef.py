"""ArcSight Common Event Format: one ``CEF:`` line into its header fields and extensions.

Follows the ArcSight CEF Implementation Standard: seven ``|``-separated header fields
(``\\|`` and ``\\\\`` escaped), then ``key=value`` extensions separated by spaces, where
values may hold spaces and escape ``\\=``, ``\\\\``, ``\\n`` and ``\\r``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_HEADER_FIELDS = ("version", "vendor", "product", "device_version", "signature", "name", "severity")
_KEY = re.compile(r"(?:(?<=\s)|^)([A-Za-z0-9_.\[\]-]{1,64})=")
_VALUE_ESCAPES = {"\\": "\\", "=": "=", "n": "\n", "r": "\r", "|": "|"}

# the full CEF dictionary name of each short key, as ArcSight writes them
FULL_NAMES = {
    "act": "deviceAction",
    "app": "applicationProtocol",
    "c6a1": "deviceCustomIPv6Address1",
    "c6a2": "deviceCustomIPv6Address2",
    "c6a3": "deviceCustomIPv6Address3",
    "c6a4": "deviceCustomIPv6Address4",
    "cat": "deviceEventCategory",
    "cnt": "baseEventCount",
    "dhost": "destinationHostName",
    "dmac": "destinationMacAddress",
    "dntdom": "destinationNtDomain",
    "dpid": "destinationProcessId",
    "dpriv": "destinationUserPrivileges",
    "dproc": "destinationProcessName",
    "dpt": "destinationPort",
    "dst": "destinationAddress",
    "duid": "destinationUserId",
    "duser": "destinationUserName",
    "dvc": "deviceAddress",
    "dvchost": "deviceHostName",
    "dvcmac": "deviceMacAddress",
    "dvcpid": "deviceProcessId",
    "end": "endTime",
    "fname": "fileName",
    "fsize": "fileSize",
    "in": "bytesIn",
    "msg": "message",
    "out": "bytesOut",
    "outcome": "eventOutcome",
    "proto": "transportProtocol",
    "request": "requestURL",
    "rt": "deviceReceiptTime",
    "shost": "sourceHostName",
    "smac": "sourceMacAddress",
    "sntdom": "sourceNtDomain",
    "spid": "sourceProcessId",
    "spriv": "sourceUserPrivileges",
    "sproc": "sourceProcessName",
    "spt": "sourcePort",
    "src": "sourceAddress",
    "start": "startTime",
    "suid": "sourceUserId",
    "suser": "sourceUserName",
}


class CefError(ValueError):
    """A line that is not valid CEF; the message says what is wrong."""


@dataclass(frozen=True, slots=True)
class CefRecord:
    """One parsed CEF line."""

    version: str
    vendor: str
    product: str
    device_version: str
    signature: str
    name: str
    severity: str
    extensions: dict[str, str]

    def fields(self) -> dict[str, str]:
        """Header and extensions under their full CEF dictionary names."""
        out = {
            "deviceVendor": self.vendor,
            "deviceProduct": self.product,
            "deviceVersion": self.device_version,
            "deviceEventClassId": self.signature,
        }
        for key, value in self.extensions.items():
            out[FULL_NAMES.get(key, key)] = value
        return out


def parse(line: str) -> CefRecord:
    """Parse one CEF line; text before ``CEF:`` (a syslog header) is ignored."""
    start = line.find("CEF:")
    if start < 0:
        raise CefError("not a CEF line: 'CEF:' is missing")
    text = line[start + 4 :].rstrip("\r\n")
    header, rest = _split_header(text)
    if not header[0].strip().isdigit():
        raise CefError(f"CEF version {header[0][:10]!r} is not a number")
    if not header[5].strip():
        raise CefError("the CEF Name field is empty")
    values = dict(zip(_HEADER_FIELDS, header, strict=True))
    return CefRecord(**values, extensions=parse_extensions(rest))


def _split_header(text: str) -> tuple[list[str], str]:
    fields: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\":
            if i + 1 >= len(text):
                raise CefError("the CEF header ends in a lone backslash")
            following = text[i + 1]
            # only \| and \\ are escapes in the header; keep any other backslash as it is
            current.append(following if following in "|\\" else char + following)
            i += 2
            continue
        if char == "|":
            fields.append("".join(current))
            current = []
            if len(fields) == len(_HEADER_FIELDS):
                return fields, text[i + 1 :]
        else:
            current.append(char)
        i += 1
    if len(fields) == len(_HEADER_FIELDS) - 1:
        # a header without the final "|" has no extensions
        fields.append("".join(current))
        return fields, ""
    raise CefError(f"the CEF header has {len(fields)} of 7 '|'-separated fields")


def parse_extensions(text: str) -> dict[str, str]:
    """``key=value`` pairs; a value runs up to the space before the next key."""
    matches = [m for m in _KEY.finditer(text) if not _escaped(text, m.end() - 1)]
    if not matches:
        if text.strip():
            raise CefError("the CEF extension has no key=value pair")
        return {}
    if text[: matches[0].start()].strip():
        raise CefError("the CEF extension has text before its first key")
    out: dict[str, str] = {}
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        out[match.group(1)] = _unescape(text[match.end() : end].rstrip(" "))
    return out


def _escaped(text: str, position: int) -> bool:
    backslashes = 0
    while position - 1 - backslashes >= 0 and text[position - 1 - backslashes] == "\\":
        backslashes += 1
    return backslashes % 2 == 1


def _unescape(value: str) -> str:
    if "\\" not in value:
        return value
    out: list[str] = []
    i = 0
    while i < len(value):
        char = value[i]
        if char == "\\" and i + 1 < len(value) and value[i + 1] in _VALUE_ESCAPES:
            out.append(_VALUE_ESCAPES[value[i + 1]])
            i += 2
            continue
        out.append(char)
        i += 1
    return "".join(out)


def escape_header(value: str) -> str:
    """Escape a header field for writing CEF."""
    return value.replace("\\", "\\\\").replace("|", "\\|")


def escape_value(value: str) -> str:
    """Escape an extension value for writing CEF."""
    return (
        value.replace("\\", "\\\\")
        .replace("=", "\\=")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\r")
    )
