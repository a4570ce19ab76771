"""The CEF parser against the ArcSight CEF Implementation Standard: header, extensions, escapes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rampart.ingest.adapters import cef


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


@given(st.text(max_size=300))
@settings(max_examples=300, deadline=None)
def test_the_cef_parser_raises_only_cef_errors(line: str) -> None:
    try:
        record = cef.parse("CEF:" + line)
    except cef.CefError:
        return
    assert record.name.strip()
