"""The SLA report: how fast events are acknowledged and resolved, approvals decided, SLAs met.

The same figures are exposed as Prometheus gauges, refreshed on a schedule by every replica
from the shared tables, so any replica's ``/metrics`` shows the installation's numbers.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from rampart.approvals.models import ApprovalFigures, Durations, SlaFigures, SlaReport
from rampart.approvals.state import ApprovalsState
from rampart.core.deps import Conn
from rampart.core.errors import FieldError
from rampart.core.workers import periodic

SCHEMA = "approvals"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


_DURATIONS = (
    "count({x}) AS {n}_count, avg({x}) AS {n}_mean, "
    "percentile_cont(0.5) WITHIN GROUP (ORDER BY {x}) AS {n}_p50, "
    "percentile_cont(0.9) WITHIN GROUP (ORDER BY {x}) AS {n}_p90"
)
_ACK = "extract(epoch FROM f.acknowledged_at - f.created_at)"
_RESOLVE = "extract(epoch FROM f.closed_at - f.created_at)"


def _durations(row: Any, name: str) -> Durations:
    def number(key: str) -> float | None:
        value = row[f"{name}_{key}"]
        return None if value is None else float(value)

    return Durations(
        count=row[f"{name}_count"], mean_s=number("mean"), p50_s=number("p50"),
        p90_s=number("p90"),
    )  # fmt: skip


async def _event_figures(
    *, conn: Conn, group: str, since: datetime, until: datetime
) -> dict[str, SlaFigures]:
    rows = await conn.fetch(
        f"SELECT {group} AS key, count(*) AS events, "
        f"{_DURATIONS.format(x=_ACK, n='ack')}, {_DURATIONS.format(x=_RESOLVE, n='res')}, "
        "count(*) FILTER (WHERE t.stopped_at IS NOT NULL AND t.fired_at IS NULL) AS met, "
        "count(*) FILTER (WHERE t.fired_at IS NOT NULL) AS breached "
        f"FROM {SCHEMA}.event_facts f LEFT JOIN {SCHEMA}.sla_timers t "
        "ON t.subject_kind = 'event' AND t.subject_id = f.event_id "
        "WHERE f.created_at >= $1 AND f.created_at < $2 GROUP BY 1 ORDER BY 1",
        since,
        until,
    )
    figures: dict[str, SlaFigures] = {}
    for r in rows:
        finished = r["met"] + r["breached"]
        figures[r["key"]] = SlaFigures(
            events=r["events"],
            time_to_acknowledge=_durations(r, "ack"),
            time_to_resolve=_durations(r, "res"),
            slas_met=r["met"],
            slas_breached=r["breached"],
            compliance=None if finished == 0 else r["met"] / finished,
        )
    return figures


async def sla_report(*, conn: Conn, since: datetime, until: datetime) -> SlaReport:
    """The report of events and approvals created in ``[since, until)``."""
    if until <= since:
        raise FieldError("until", "must be after since")
    by_severity = await _event_figures(conn=conn, group="f.severity", since=since, until=until)
    by_owner = await _event_figures(
        conn=conn, group="coalesce(f.owner, 'unassigned')", since=since, until=until
    )
    decide = "extract(epoch FROM a.decided_at - a.created_at)"
    row = await conn.fetchrow(
        "SELECT count(*) AS approvals, "
        "count(*) FILTER (WHERE status = 'approved') AS approved, "
        "count(*) FILTER (WHERE status = 'denied') AS denied, "
        "count(*) FILTER (WHERE status = 'expired') AS expired, "
        "count(*) FILTER (WHERE status = 'pending') AS pending, "
        f"(SELECT count(*) FROM {SCHEMA}.approval_history h JOIN {SCHEMA}.approvals b "
        "ON b.id = h.approval_id WHERE h.kind = 'escalated' AND b.created_at >= $1 "
        "AND b.created_at < $2) AS escalations, "
        + _DURATIONS.format(
            x=f"CASE WHEN a.status IN ('approved', 'denied') THEN {decide} END", n="dec"
        )
        + f" FROM {SCHEMA}.approvals a WHERE a.created_at >= $1 AND a.created_at < $2",
        since,
        until,
    )
    assert row is not None
    return SlaReport(
        since=since,
        until=until,
        by_severity=by_severity,
        by_owner=by_owner,
        approvals=ApprovalFigures(
            approvals=row["approvals"],
            approved=row["approved"],
            denied=row["denied"],
            expired=row["expired"],
            pending=row["pending"],
            escalations=row["escalations"],
            time_to_decide=_durations(row, "dec"),
        ),
    )


def report_gauges(
    state: ApprovalsState, *, interval_s: float = 30.0
) -> contextlib.AbstractAsyncContextManager[None]:
    """Refresh the gauges from the report of the whole history every ``interval_s``."""

    async def refresh() -> None:
        async with state.pool.acquire() as conn:
            report = await sla_report(conn=conn, since=_EPOCH, until=state.clock.now())
        state.gauges.show(report)

    return periodic(refresh, interval_s=interval_s, name="sla-report-gauges")


async def event_ingested(
    *, conn: Conn, event_id: UUID, severity: str, at: datetime, name: str | None = None
) -> None:
    """Note an event's arrival (once)."""
    await conn.execute(
        f"INSERT INTO {SCHEMA}.event_facts (event_id, severity, created_at, name) "
        "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        event_id,
        severity,
        at,
        name,
    )


async def event_changed(
    *, conn: Conn, event_id: UUID, changes: dict[str, Any], at: datetime
) -> None:
    """Note what the report reads of an event's change: acknowledgement, owner, severity."""
    await conn.execute(
        f"UPDATE {SCHEMA}.event_facts SET "
        "acknowledged_at = CASE WHEN $2::text = 'open' THEN coalesce(acknowledged_at, $5) "
        "ELSE acknowledged_at END, "
        "closed_at = CASE WHEN $2::text IN ('new', 'open') THEN NULL ELSE closed_at END, "
        "owner = CASE WHEN $3 THEN $4 ELSE owner END, "
        "severity = coalesce($6, severity) WHERE event_id = $1",
        event_id,
        changes.get("status"),
        "owner" in changes,
        None if changes.get("owner") is None else str(changes["owner"]),
        at,
        changes.get("severity"),
    )


async def event_closed(*, conn: Conn, event_id: UUID, at: datetime) -> None:
    """Note an event's close."""
    await conn.execute(
        f"UPDATE {SCHEMA}.event_facts SET closed_at = $2, "
        "acknowledged_at = coalesce(acknowledged_at, $2) WHERE event_id = $1",
        event_id,
        at,
    )
