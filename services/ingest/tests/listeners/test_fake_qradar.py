"""The fake QRadar itself: it filters, sorts and refuses exactly as IBM's API reference says.

A fake that accepted any filter would let a poller sending a malformed one pass its tests; see
``_fake_qradar.py`` for the documents it follows.
"""

from __future__ import annotations

import httpx
import pytest

from services.ingest.tests._fake_qradar import (
    TOKEN,
    BadQuery,
    FakeQRadar,
    fake_qradar,
    offense,
    parse_filter,
    parse_sort,
)

__all__ = ["fake_qradar"]


@pytest.mark.parametrize(
    ("text", "ids"),
    [
        ("", [1, 2, 3]),
        ("id > 1", [2, 3]),
        ("last_updated_time > 20 or (last_updated_time = 20 and id > 1)", [2, 3]),
        ("id in (1, 3)", [1, 3]),
        ("not id = 2 and magnitude >= 5", [1, 3]),
        ('status = "OPEN"', [1, 2, 3]),
    ],
)
def test_the_fake_filters_as_qradar_does(text: str, ids: list[int]) -> None:
    rows = [offense(i, 10 + 10 * i) for i in (1, 2, 3)]
    keep = parse_filter(text)
    assert [o["id"] for o in rows if keep(o)] == ids


@pytest.mark.parametrize(
    "text",
    ["last_updated_time >> 1", "id > ", "(id > 1", "nonsense = 1", "id > 1 or", "id 5", "id = x"],
)
def test_the_fake_refuses_a_malformed_filter(text: str) -> None:
    with pytest.raises(BadQuery):
        parse_filter(text)


def test_the_fake_refuses_a_malformed_sort() -> None:
    assert parse_sort("+last_updated_time,-id") == [("last_updated_time", False), ("id", True)]
    for bad in ("last_updated_time", "+description", "+id,,", "*id"):
        with pytest.raises(BadQuery):
            parse_sort(bad)


async def test_the_fake_answers_422_and_checks_the_version(
    fake_qradar: tuple[FakeQRadar, str],
) -> None:
    _fake, url = fake_qradar
    async with httpx.AsyncClient(base_url=url, headers={"SEC": TOKEN}) as client:
        bad_filter = await client.get(
            "/api/siem/offenses", params={"filter": "id >> 1"}, headers={"Version": "20.0"}
        )
        assert bad_filter.status_code == 422
        assert bad_filter.json()["code"] == 1010
        bad_sort = await client.get(
            "/api/siem/offenses", params={"sort": "id"}, headers={"Version": "20.0"}
        )
        assert bad_sort.status_code == 422
        assert bad_sort.json()["code"] == 1030
        old = await client.get("/api/siem/offenses", headers={"Version": "9.0"})
        assert old.status_code == 406
