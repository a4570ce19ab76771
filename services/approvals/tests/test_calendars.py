"""Business-hours arithmetic: open time counts, closed time and holidays do not."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from rampart.approvals.calendars import Calendar, CalendarSpec

BERLIN = ZoneInfo("Europe/Berlin")
OFFICE = {d: [{"start": "09:00", "end": "17:00"}] for d in
          ("monday", "tuesday", "wednesday", "thursday", "friday")}  # fmt: skip


def _calendar(**extra: object) -> Calendar:
    return Calendar(CalendarSpec.model_validate(
        {"name": "office", "timezone": "Europe/Berlin", "hours": OFFICE, **extra}
    ))  # fmt: skip


def test_four_business_hours_from_friday_afternoon_end_on_monday_noon() -> None:
    friday = datetime(2026, 12, 4, 16, 0, tzinfo=BERLIN)
    due = _calendar().add(friday, timedelta(hours=4))
    assert due == datetime(2026, 12, 7, 12, 0, tzinfo=BERLIN)


def test_time_before_opening_starts_counting_at_opening() -> None:
    early = datetime(2026, 12, 1, 6, 30, tzinfo=BERLIN)
    assert _calendar().add(early, timedelta(minutes=30)) == datetime(
        2026, 12, 1, 9, 30, tzinfo=BERLIN
    )


def test_holidays_are_skipped() -> None:
    calendar = _calendar(holidays=["2026-12-24", "2026-12-25"])
    wednesday = datetime(2026, 12, 23, 16, 0, tzinfo=BERLIN)
    assert calendar.add(wednesday, timedelta(hours=2)) == datetime(
        2026, 12, 28, 10, 0, tzinfo=BERLIN
    )


def test_a_dst_change_inside_working_hours_counts_real_time() -> None:
    night = {"sunday": [{"start": "00:00", "end": "06:00"}]}
    calendar = Calendar(CalendarSpec(name="night", timezone="Europe/Berlin", hours=night))  # type: ignore[arg-type]
    # 2026-03-29: clocks jump from 02:00 to 03:00, so the interval holds five real hours
    start = datetime(2026, 3, 29, 0, 0, tzinfo=BERLIN)
    assert calendar.open_time(start, datetime(2026, 3, 29, 6, 0, tzinfo=BERLIN)) == timedelta(
        hours=5
    )
    assert calendar.add(start, timedelta(hours=5)) == datetime(2026, 3, 29, 4, 0, tzinfo=UTC)


@given(
    start=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31),
                       timezones=st.just(UTC)),
    minutes=st.integers(min_value=0, max_value=60 * 24 * 30),
)  # fmt: skip
def test_the_open_time_up_to_the_due_time_is_the_duration(start: datetime, minutes: int) -> None:
    calendar = _calendar(holidays=[date(2026, 12, 25)])
    due = calendar.add(start, timedelta(minutes=minutes))
    assert calendar.open_time(start, due) == timedelta(minutes=minutes)
    assert due >= start


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"hours": {}}, "hours"),
        ({"hours": {"funday": [{"start": "09:00", "end": "10:00"}]}}, "hours"),
        ({"hours": {"monday": [{"start": "10:00", "end": "09:00"}]}}, "hours"),
        ({"hours": {"monday": []}}, "hours"),
    ],
)
def test_a_calendar_that_cannot_be_open_is_refused(change: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as raised:
        CalendarSpec.model_validate(
            {"name": "bad", "timezone": "Europe/Berlin", "hours": OFFICE, **change}
        )
    assert raised.value.errors()[0]["loc"][0] == field
