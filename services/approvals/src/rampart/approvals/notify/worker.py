"""Delivering notifications: claimed with SKIP LOCKED, retried with backoff, then the owner's
next channel; every channel's outcome is published as ``approval.notified`` (an approval's
assignee) or ``sla.notified`` (an SLA timer's owner)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

from rampart.approvals import timers
from rampart.approvals.notify import store
from rampart.approvals.notify.channels import SendFailed
from rampart.approvals.notify.contacts import Channel
from rampart.approvals.notify.notifier import Notifier
from rampart.core.deps import Conn
from rampart.core.errors import PermanentError, TransientError
from rampart.core.messages import ApprovalNotified, SlaNotified
from rampart.core.store import Record
from rampart.core.workers import periodic

if TYPE_CHECKING:
    from rampart.approvals.state import ApprovalsState

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one delivery attempt came to."""

    kind: Literal["delivered", "failed", "lookup_failed", "undeliverable", "obsolete"]
    channel: Channel | None = None
    channels: int = 0
    error: str | None = None
    permanent: bool = False


async def deliver_due(*, conn: Conn, notifier: Notifier, now: datetime) -> int:
    """Attempt every notification due by ``now`` that no other replica holds; how many."""
    async with conn.transaction():
        rows = await store.claim_due(conn=conn, now=now, batch=notifier.settings.batch)
        outcomes = await asyncio.gather(*(_attempt(notifier, row, now) for row in rows))
        for row, outcome in zip(rows, outcomes, strict=True):
            await _settle(conn=conn, notifier=notifier, row=row, outcome=outcome, now=now)
    return len(rows)


def _obsolete(row: Record) -> str | None:
    """Why a notification need not go out any more (a breach always does), or None."""
    if row["reason"] == "breach":
        return None
    if row["timer_id"] is not None:
        moved = row["timer_status"] != "pending" or row["timer_now_due"] != row["timer_due_at"]
        return "the clock was stopped, paused or moved" if moved else None
    stage_over = row["approval_status"] != "pending" or row["current_index"] != row["stage_index"]
    return "the stage was decided or is over" if stage_over else None


async def _attempt(notifier: Notifier, row: Record, now: datetime) -> Outcome:
    if (why := _obsolete(row)) is not None:
        return Outcome("obsolete", error=why)
    try:
        contact = await notifier.contacts.contact(row["owner_id"])
    except PermanentError as exc:
        return Outcome("undeliverable", error=str(exc))
    except TransientError as exc:
        return Outcome("lookup_failed", error=str(exc))
    channels = contact.channels()
    if row["channel_index"] >= len(channels):
        return Outcome("undeliverable", error="the owner has no channel left to try")
    channel, address = channels[row["channel_index"]]
    try:
        await notifier.senders.send(channel, address, notifier.notice(row, contact, now))
    except SendFailed as exc:
        return Outcome("failed", channel, len(channels), str(exc), exc.permanent)
    except Exception as exc:  # a bug in one channel must not stop the others' deliveries
        log.exception("sending a notification failed", extra={"channel": channel})
        return Outcome("failed", channel, len(channels), f"{type(exc).__name__}: {exc}")
    return Outcome("delivered", channel, len(channels))


def backoff(settings_base: float, settings_max: float, attempts: int) -> timedelta:
    """The wait before attempt ``attempts + 1`` on one channel: doubling, capped."""
    return timedelta(seconds=min(settings_max, settings_base * 2 ** max(0, attempts - 1)))


async def _settle(
    *, conn: Conn, notifier: Notifier, row: Record, outcome: Outcome, now: datetime
) -> None:
    settings = notifier.settings
    if outcome.kind in ("obsolete", "undeliverable"):
        await store.finish(
            conn=conn, notification_id=row["id"], status=outcome.kind, now=now, error=outcome.error
        )
        return
    if outcome.kind == "lookup_failed":
        wait = backoff(settings.retry_base_s, settings.retry_max_s, 1)
        await store.retry(
            conn=conn,
            notification_id=row["id"],
            at=now + wait,
            channel_index=row["channel_index"],
            attempts=row["attempts"],
            channel=None,
            error=outcome.error or "",
        )
        return
    assert outcome.channel is not None
    attempts = row["attempts"] + 1
    if outcome.kind == "delivered":
        await store.finish(
            conn=conn,
            notification_id=row["id"],
            status="delivered",
            now=now,
            channel=outcome.channel,
        )
        await _told(conn=conn, row=row, outcome=outcome, attempts=attempts)
        return
    if not outcome.permanent and attempts < settings.attempts_per_channel:
        await store.retry(
            conn=conn,
            notification_id=row["id"],
            at=now + backoff(settings.retry_base_s, settings.retry_max_s, attempts),
            channel_index=row["channel_index"],
            attempts=attempts,
            channel=outcome.channel,
            error=outcome.error or "",
        )
        return
    # this channel keeps failing: say so, and fall back to the owner's next one at once
    await _told(conn=conn, row=row, outcome=outcome, attempts=attempts)
    following = row["channel_index"] + 1
    if following >= outcome.channels:
        await store.finish(
            conn=conn,
            notification_id=row["id"],
            status="failed",
            now=now,
            channel=outcome.channel,
            error=outcome.error,
        )
        return
    await store.retry(
        conn=conn,
        notification_id=row["id"],
        at=now,
        channel_index=following,
        attempts=0,
        channel=outcome.channel,
        error=outcome.error or "",
    )


async def _told(*, conn: Conn, row: Record, outcome: Outcome, attempts: int) -> None:
    """Record and publish one channel's outcome."""
    assert outcome.channel is not None
    delivered = outcome.kind == "delivered"
    detail = row["reason"] if delivered else f"{row['reason']}: {outcome.error or ''}"
    if row["timer_id"] is not None:
        # an SLA notice: its outcome is the message; the row keeps the last channel and error
        await timers.publish(
            conn,
            SlaNotified(
                timer_id=row["timer_id"],
                subject_kind=row["subject_kind"],
                subject_id=row["subject_id"],
                event_id=row["event_id"],
                reason=row["reason"],
                recipient=str(row["owner_id"]),
                channel=outcome.channel,
                delivered=delivered,
                detail=detail,
            ),
            subject=str(row["subject_id"]),
            correlation_id=str(row["event_id"] or row["subject_id"]),
        )
        return
    await store.record(
        conn=conn,
        approval_id=row["approval_id"],
        kind="notified" if delivered else "notification_failed",
        actor=str(row["owner_id"]),
        channel=outcome.channel,
        detail={
            "reason": row["reason"],
            "stage": row["stage"],
            "attempts": attempts,
            **({} if delivered else {"error": outcome.error or ""}),
        },
    )
    await timers.publish(
        conn,
        ApprovalNotified(
            approval_id=row["approval_id"],
            stage=row["stage"],
            recipient=str(row["owner_id"]),
            channel=outcome.channel,
            delivered=delivered,
            detail=detail,
        ),
        subject=str(row["approval_id"]),
        correlation_id=str(row["event_id"] or row["approval_id"]),
    )


def delivery_loop(state: ApprovalsState) -> contextlib.AbstractAsyncContextManager[None]:
    """Deliver due notifications every few moments while the service runs."""
    notifier = state.notifier

    async def deliver_all() -> None:
        async with state.pool.acquire() as conn:
            while await deliver_due(conn=conn, notifier=notifier, now=state.clock.now()) > 0:
                pass

    return periodic(
        deliver_all, interval_s=notifier.settings.interval_s, name="approval-notifications"
    )
