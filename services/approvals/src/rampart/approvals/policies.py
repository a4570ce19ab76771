"""SLA policies and calendars: how long a subject has, counted on which hours, warned when.

A policy matches a subject kind and, optionally, a severity (the more specific one wins). It
may fix the SLA's length (``minutes``), count it on a business-hours calendar, and set the
share of the SLA after which a warning fires. Without a policy, the due time the subject came
with is kept, counted on the wall clock, and the warning fires at 80 %.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from uuid import UUID

import asyncpg
from pydantic import BaseModel, ConfigDict, Field

from rampart.approvals.calendars import Calendar, CalendarSpec
from rampart.core.deps import Conn
from rampart.core.errors import ConflictError, FieldError, NotFoundError
from rampart.core.ids import uuid7
from rampart.core.store import Record
from rampart.core.vocabulary import SeverityName

SCHEMA = "approvals"
SubjectKind = Literal["event", "approval", "phase", "task"]
DEFAULT_WARN_SHARE = 0.8


class CalendarPublic(CalendarSpec):
    """A calendar as the API shows it."""

    id: UUID
    created_at: datetime
    updated_at: datetime


class PolicySpec(BaseModel):
    """An SLA policy as an administrator defines it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    subject_kind: SubjectKind
    severity: SeverityName | None = Field(
        default=None, description="only subjects of this severity; none: every severity"
    )
    minutes: int | None = Field(
        default=None, gt=0, le=60 * 24 * 365, description="the SLA's length; none: as given"
    )
    calendar: str | None = Field(
        default=None, description="name of the business-hours calendar the SLA counts on"
    )
    warn_share: float = Field(default=DEFAULT_WARN_SHARE, gt=0, lt=1)


class PolicyPublic(PolicySpec):
    """A policy as the API shows it."""

    id: UUID
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class TimerPlan:
    """When a timer that starts now is due and warns, and on which calendar it counts."""

    started_at: datetime
    budget: timedelta
    due_at: datetime
    warn_at: datetime
    calendar_id: UUID | None
    policy_id: UUID | None


async def create_calendar(*, conn: Conn, spec: CalendarSpec) -> CalendarPublic:
    """Add a calendar; 409 if the name is taken."""
    try:
        row = await conn.fetchrow(
            f"INSERT INTO {SCHEMA}.calendars (id, name, spec) VALUES ($1, $2, $3) "
            "RETURNING id, created_at, updated_at",
            uuid7(),
            spec.name,
            spec.model_dump(mode="json"),
        )
    except asyncpg.UniqueViolationError:
        raise ConflictError(f"a calendar named {spec.name!r} exists already") from None
    assert row is not None
    return CalendarPublic(**spec.model_dump(), **dict(row))


async def list_calendars(*, conn: Conn) -> list[CalendarPublic]:
    """Every calendar by name."""
    rows = await conn.fetch(
        f"SELECT id, spec, created_at, updated_at FROM {SCHEMA}.calendars ORDER BY name"
    )
    return [
        CalendarPublic(
            **r["spec"], id=r["id"], created_at=r["created_at"], updated_at=r["updated_at"]
        )
        for r in rows
    ]


async def create_policy(*, conn: Conn, spec: PolicySpec) -> PolicyPublic:
    """Add a policy; 422 for an unknown calendar, 409 for a taken name or an overlap."""
    calendar_id = None
    if spec.calendar is not None:
        calendar_id = await conn.fetchval(
            f"SELECT id FROM {SCHEMA}.calendars WHERE name = $1", spec.calendar
        )
        if calendar_id is None:
            raise FieldError("calendar", f"no calendar named {spec.calendar!r}")
    try:
        row = await conn.fetchrow(
            f"INSERT INTO {SCHEMA}.sla_policies (id, name, subject_kind, severity, minutes, "
            "calendar_id, warn_share) VALUES ($1, $2, $3, $4, $5, $6, $7) "
            "RETURNING id, created_at, updated_at",
            uuid7(),
            spec.name,
            spec.subject_kind,
            spec.severity,
            spec.minutes,
            calendar_id,
            spec.warn_share,
        )
    except asyncpg.UniqueViolationError:
        raise ConflictError(
            f"a policy named {spec.name!r}, or one for {spec.subject_kind} subjects of "
            f"severity {spec.severity or 'any'}, exists already"
        ) from None
    assert row is not None
    return PolicyPublic(**spec.model_dump(), **dict(row))


async def list_policies(*, conn: Conn) -> list[PolicyPublic]:
    """Every policy by name."""
    rows = await conn.fetch(
        f"SELECT p.id, p.name, p.subject_kind, p.severity, p.minutes, c.name AS calendar, "
        f"p.warn_share, p.created_at, p.updated_at FROM {SCHEMA}.sla_policies p "
        f"LEFT JOIN {SCHEMA}.calendars c ON c.id = p.calendar_id ORDER BY p.name"
    )
    return [PolicyPublic(**dict(r)) for r in rows]


async def delete_policy(*, conn: Conn, policy_id: UUID) -> None:
    """Remove a policy; running timers keep the due times they were given."""
    deleted = await conn.fetchval(
        f"DELETE FROM {SCHEMA}.sla_policies WHERE id = $1 RETURNING true", policy_id
    )
    if not deleted:
        raise NotFoundError(f"no SLA policy {policy_id}")


async def calendar(*, conn: Conn, calendar_id: UUID | None) -> Calendar | None:
    """The calendar a timer counts on, if any."""
    if calendar_id is None:
        return None
    spec = await conn.fetchval(f"SELECT spec FROM {SCHEMA}.calendars WHERE id = $1", calendar_id)
    return None if spec is None else Calendar(CalendarSpec.model_validate(spec))


async def plan(
    *,
    conn: Conn,
    subject_kind: SubjectKind,
    severity: str | None,
    started_at: datetime,
    due_at: datetime | None = None,
    budget: timedelta | None = None,
) -> TimerPlan | None:
    """Plan a timer from the matching policy, else from the time it was given (or due time)."""
    policy = await conn.fetchrow(
        f"SELECT id, minutes, calendar_id, warn_share FROM {SCHEMA}.sla_policies "
        "WHERE subject_kind = $1 AND (severity = $2 OR severity IS NULL) "
        "ORDER BY severity NULLS LAST LIMIT 1",
        subject_kind,
        severity,
    )
    share = DEFAULT_WARN_SHARE
    calendar_id: UUID | None = None
    if policy is not None:
        if policy["minutes"] is not None:
            budget = timedelta(minutes=policy["minutes"])
        calendar_id = policy["calendar_id"]
        share = policy["warn_share"]
    counting = await calendar(conn=conn, calendar_id=calendar_id)
    if budget is None:
        if due_at is None:
            return None
        budget = max(due_at - started_at, timedelta(0))
        if counting is None:
            # the subject's own due time stands, even one that passed already
            due, warn = due_at, min(due_at, started_at + budget * share)
            return TimerPlan(started_at, budget, due, warn, None, _id(policy))
    if counting is None:
        due, warn = started_at + budget, started_at + budget * share
    else:
        due, warn = counting.add(started_at, budget), counting.add(started_at, budget * share)
    return TimerPlan(
        started_at=started_at,
        budget=budget,
        due_at=due,
        warn_at=warn,
        calendar_id=calendar_id,
        policy_id=_id(policy),
    )


def _id(policy: Record | None) -> UUID | None:
    return None if policy is None else UUID(str(policy["id"]))
