"""Business-hours calendars: working hours per weekday in a time zone, minus holidays.

An SLA counted on a calendar runs only while the calendar is open: four business hours from
Friday 16:00 on a 09:00-17:00 Monday-to-Friday calendar end on Monday at 12:00.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_SEARCH_DAYS = 3 * 366  # a calendar open at least once a year answers within this


class WorkingHours(BaseModel):
    """One open interval of a weekday, local time; ``end`` after ``start``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    start: time
    end: time

    @model_validator(mode="after")
    def _ordered(self) -> WorkingHours:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class CalendarSpec(BaseModel):
    """A business-hours calendar as an administrator defines it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._-]*$")
    timezone: str = Field(min_length=1, max_length=64)
    hours: dict[str, list[WorkingHours]] = Field(
        description="working intervals by weekday name (monday ... sunday)"
    )
    holidays: list[date] = Field(default_factory=list, max_length=1000)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if value not in available_timezones():
            raise ValueError(f"unknown time zone {value!r}")
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("hours")
    @classmethod
    def _weekdays(cls, value: dict[str, list[WorkingHours]]) -> dict[str, list[WorkingHours]]:
        unknown = sorted(set(value) - set(WEEKDAYS))
        if unknown:
            raise ValueError(f"not weekdays: {', '.join(unknown)}")
        if not any(value.values()):
            raise ValueError("a calendar needs working hours on at least one weekday")
        for day, intervals in value.items():
            ordered = sorted(intervals, key=lambda i: i.start)
            for before, after in itertools.pairwise(ordered):
                if after.start < before.end:
                    raise ValueError(f"{day}: working intervals overlap")
        return {day: sorted(v, key=lambda i: i.start) for day, v in value.items()}


class Calendar:
    """Arithmetic of open time on one calendar."""

    def __init__(self, spec: CalendarSpec) -> None:
        self.spec = spec
        self._zone = ZoneInfo(spec.timezone)
        self._holidays = set(spec.holidays)

    def _open_intervals(self, day: date) -> list[tuple[datetime, datetime]]:
        if day in self._holidays:
            return []
        intervals = self.spec.hours.get(WEEKDAYS[day.weekday()], [])
        # local wall times, compared and added in UTC so a DST change inside an interval counts
        return [
            (
                datetime.combine(day, i.start, tzinfo=self._zone).astimezone(UTC),
                datetime.combine(day, i.end, tzinfo=self._zone).astimezone(UTC),
            )
            for i in intervals
        ]

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The moment ``duration`` of open time after ``start``."""
        if duration < timedelta(0):
            raise ValueError("a duration cannot be negative")
        left = duration
        day = start.astimezone(self._zone).date()
        for _ in range(_SEARCH_DAYS):
            for opens, closes in self._open_intervals(day):
                begin = max(opens, start)
                if begin >= closes:
                    continue
                room = closes - begin
                if left <= room:
                    return begin + left
                left -= room
            day += timedelta(days=1)
        raise ValueError("the calendar is not open within three years")

    def open_time(self, start: datetime, end: datetime) -> timedelta:
        """How much open time lies between ``start`` and ``end``."""
        if end <= start:
            return timedelta(0)
        total = timedelta(0)
        day = start.astimezone(self._zone).date()
        last = end.astimezone(self._zone).date()
        while day <= last:
            for opens, closes in self._open_intervals(day):
                begin, finish = max(opens, start), min(closes, end)
                if finish > begin:
                    total += finish - begin
            day += timedelta(days=1)
        return total
