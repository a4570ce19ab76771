"""What an artifact's value is (ip, host name, hash, url, ...), from its CEF field and its text.

The types a field always has come from ``rampart.core.vocabulary.CEF_CONTAINS``; the text adds
what it shows (``ipv6``, ``md5``/``sha1``/``sha256``, ``email``, a domain or file name).
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from rampart.core.vocabulary import CEF_CONTAINS

_HEX = re.compile(r"^[0-9a-fA-F]+$")
_HASH_BY_LENGTH = {32: "md5", 40: "sha1", 64: "sha256"}
_LABEL = r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)"
_DOMAIN = re.compile(rf"^(?:{_LABEL}\.)+[A-Za-z][A-Za-z0-9-]{{0,62}}\.?$")
_HOST = re.compile(rf"^{_LABEL}$")
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://\S+$")
_FILE = re.compile(r"^[^\\/:*?\"<>|\r\n]+\.[A-Za-z0-9]{1,8}$")

# what a CEF field's value is, whatever its text: Rampart's one table of field types
_BY_FIELD = CEF_CONTAINS
_SETTLED = {
    "file name",
    "file path",
    "process id",
    "process name",
    "port",
    "mac address",
    "user name",
    "url",
}
# fields whose values are never observables: don't guess from a number or a word in them
_NOT_OBSERVABLE = {
    "message",
    "deviceAction",
    "deviceEventCategory",
    "eventOutcome",
    "baseEventCount",
    "bytesIn",
    "bytesOut",
    "transportProtocol",
    "applicationProtocol",
    "startTime",
    "endTime",
    "deviceReceiptTime",
    "fileSize",
    "severity",
}


def detect(field: str, value: Any) -> list[str]:
    """The ``contains`` types of one CEF field's value, most specific last."""
    if isinstance(value, bool) or value is None:
        return []
    found = list(_BY_FIELD.get(field, ()))
    if field in _NOT_OBSERVABLE or field.endswith("Label") or not isinstance(value, str | int):
        return found
    if _SETTLED.intersection(found):
        # the field already says what it is; "evil.exe" in fileName is no domain
        return found
    text = str(value).strip()
    if not text or len(text) > 2048:
        return found
    for kind in _from_text(text, field):
        if kind not in found:
            found.append(kind)
    return found


def _from_text(text: str, field: str) -> list[str]:
    ip = _ip(text)
    if ip is not None:
        return ["ip"] if ip.version == 4 else ["ip", "ipv6"]
    if _HEX.match(text) and len(text) in _HASH_BY_LENGTH:
        return ["hash", _HASH_BY_LENGTH[len(text)]]
    if _URL.match(text):
        return ["url"]
    if "@" in text and _DOMAIN.match(text.rpartition("@")[2]) and " " not in text:
        return ["user name", "email"]
    if "\\" in text and text.count("\\") == 1 and " " not in text:
        return ["user name"]
    if _DOMAIN.match(text) and not text.replace(".", "").isdigit():
        tld = text.rstrip(".").rpartition(".")[2]
        if _FILE.match(text) and field not in _BY_FIELD and tld.lower() in _FILE_SUFFIXES:
            return ["file name"]
        hostish = field.endswith("HostName") or field.endswith("host")
        return ["domain", "host name"] if hostish else ["domain"]
    if field.endswith("HostName") and _HOST.match(text):
        return ["host name"]
    return []


# endings that make "name.ext" a file rather than a domain when the field does not say
_FILE_SUFFIXES = {
    "exe", "dll", "sys", "bat", "cmd", "ps1", "vbs", "js", "jar", "sh", "py", "doc", "docx",
    "xls", "xlsx", "xlsm", "pdf", "zip", "rar", "7z", "tmp", "txt", "log", "lnk", "scr",
    "msi", "iso", "img", "hta", "elf", "bin", "so",
}  # fmt: skip


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if not (text[0].isdigit() or ":" in text):
        return None
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None


def contains_of(cef: dict[str, Any]) -> dict[str, list[str]]:
    """The ``contains`` types of every field of an artifact that has any."""
    out: dict[str, list[str]] = {}
    for field, value in cef.items():
        kinds = detect(field, value)
        if kinds:
            out[field] = kinds
    return out
