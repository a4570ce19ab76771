"""The SLA clock: due timers fire once, on whichever replica claims them first."""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any

from rampart.approvals import notify, service, timers
from rampart.approvals.state import ApprovalsState
from rampart.core.deps import Conn
from rampart.core.envelope import Envelope
from rampart.core.messages import SlaBreached, SlaWarning
from rampart.core.outbox import enqueue
from rampart.core.store import Record
from rampart.core.workers import periodic


def _envelope(timer: Record, message: SlaWarning | SlaBreached) -> Envelope:
    return Envelope.wrap(
        message,
        source=timers.publish.source,
        subject=str(timer["subject_id"]),
        correlation_id=str(timer["event_id"] or timer["subject_id"]),
    )


def _subject(timer: Record) -> dict[str, Any]:
    return {k: timer[k] for k in ("subject_kind", "subject_id", "event_id", "due_at")}


async def warn_due(*, conn: Conn, now: datetime, batch: int = 100) -> int:
    """Warn of timers past their warning point by ``now``; returns how many."""
    async with conn.transaction():
        rows = await timers.claim_warnings(conn=conn, now=now, batch=batch)
        outgoing = [_envelope(r, SlaWarning(**_subject(r), warned_at=now)) for r in rows]
        await enqueue(conn=conn, schema=timers.SCHEMA, envelopes=outgoing)
        for r in rows:
            if r["subject_kind"] == "approval":
                # the assignees hear that their stage is about to pass to the next one
                await notify.announce(
                    conn=conn, approval_id=r["subject_id"], reason="warning", now=now
                )
            else:
                await notify.announce_timer(conn=conn, timer_id=r["id"], reason="warning", now=now)
        return len(rows)


async def fire_due(*, conn: Conn, now: datetime, batch: int = 100) -> int:
    """Breach timers due by ``now``, announce each, move breached approvals on; how many."""
    async with conn.transaction():
        rows = await timers.claim_due(conn=conn, now=now, batch=batch)
        # the batch's messages are written with one insert at the end of its transaction
        outgoing = [_envelope(r, SlaBreached(**_subject(r), breached_at=now)) for r in rows]
        for r in rows:
            if r["subject_kind"] == "approval":
                await service.breached(
                    conn=conn, approval_id=r["subject_id"], at=now, outgoing=outgoing
                )
            else:
                await notify.announce_timer(conn=conn, timer_id=r["id"], reason="breach", now=now)
        await enqueue(conn=conn, schema=timers.SCHEMA, envelopes=outgoing)
        return len(rows)


async def next_due(*, conn: Conn) -> datetime | None:
    """The earliest moment a running timer breaches or warns."""
    found: datetime | None = await conn.fetchval(
        f"SELECT least((SELECT min(due_at) FROM {timers.SCHEMA}.sla_timers "
        "WHERE status = 'pending'), (SELECT min(warn_at) FROM "
        f"{timers.SCHEMA}.sla_timers WHERE status = 'pending' AND warned_at IS NULL))"
    )
    return found


def timer_loop(
    state: ApprovalsState, *, interval_s: float = 1.0
) -> contextlib.AbstractAsyncContextManager[None]:
    """Fire timers as they come due while the service runs.

    After each round the loop sleeps until the earliest due time it knows of, but never
    longer than ``interval_s``, so timers that other replicas or requests add meanwhile are
    seen within that time, and a timer fires within a query's latency of its due time.
    """

    async def one_round() -> float | None:
        async with state.pool.acquire() as conn:
            while await fire_due(conn=conn, now=state.clock.now()) > 0:
                pass
            while await warn_due(conn=conn, now=state.clock.now()) > 0:
                pass
            upcoming = await next_due(conn=conn)
        return None if upcoming is None else (upcoming - state.clock.now()).total_seconds()

    return periodic(one_round, interval_s=interval_s, name="sla-timers")
