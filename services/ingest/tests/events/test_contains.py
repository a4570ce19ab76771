"""The ``contains`` detector: types from the CEF field (Rampart's one table) and from the text."""

from __future__ import annotations

import pytest

from rampart.core.vocabulary import CEF_CONTAINS
from rampart.ingest.events.contains import detect


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
        ("requestURL", "login.example.com/reset", ["url"]),
        ("sourceProcessName", "evil.exe", ["process name"]),
        ("destinationPort", 443, ["port"]),
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


@pytest.mark.parametrize("field", sorted(CEF_CONTAINS))
def test_a_known_field_has_the_types_of_the_shared_table(field: str) -> None:
    expected = list(CEF_CONTAINS[field])
    assert detect(field, "x")[: len(expected)] == expected
