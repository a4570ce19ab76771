"""The one event shape: times in every form a SIEM writes them, and text PostgreSQL can store."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from rampart.ingest.events.normalized import clean_json, clean_text, parse_time


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
