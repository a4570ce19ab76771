"""Notification rows, used links and one-time form tokens, in the approvals schema."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from rampart.core.deps import Conn
from rampart.core.ids import uuid7
from rampart.core.store import Record

SCHEMA = "approvals"
Reason = Literal["stage", "warning", "breach"]
FinalStatus = Literal["delivered", "failed", "undeliverable", "obsolete"]


async def announce(
    *,
    conn: Conn,
    approval_id: UUID,
    reason: Reason,
    now: datetime,
    stage_index: int | None = None,
    approval: Record | Mapping[str, Any] | None = None,
) -> list[UUID]:
    """Write one notification per assignee of the approval's current stage (or ``stage_index``);
    the assignees told.

    Called in the transaction that starts the stage, warns or breaches, so the notification
    exists exactly when the change does; an occasion is written once per assignee. A caller
    that holds the approval's ``stage_index``, ``stages`` and ``due_at`` passes them as
    ``approval`` (the SLA engine escalating a batch saves a query per approval).
    """
    if approval is None:
        approval = await conn.fetchrow(
            f"SELECT stage_index, stages, due_at FROM {SCHEMA}.approvals WHERE id = $1",
            approval_id,
        )
    if approval is None:
        return []
    index = approval["stage_index"] if stage_index is None else stage_index
    stage = approval["stages"][index]["stage"]
    # a breach notice tells of a stage that is over: it carries no decision link
    expires = None if reason == "breach" else approval["due_at"]
    people = await conn.fetch(
        f"SELECT owner_id FROM {SCHEMA}.approval_assignees WHERE approval_id = $1 "
        "AND stage_index = $2 ORDER BY owner_id",
        approval_id,
        index,
    )
    await conn.executemany(
        f"INSERT INTO {SCHEMA}.approval_notifications (id, approval_id, stage_index, stage, "
        "owner_id, reason, link_expires_at, next_attempt_at, created_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) ON CONFLICT DO NOTHING",
        [(uuid7(), approval_id, index, stage, p["owner_id"], reason, expires, now) for p in people],
    )
    return [p["owner_id"] for p in people]


async def announce_timer(
    *, conn: Conn, timer_id: UUID, reason: Literal["warning", "breach"], now: datetime
) -> int:
    """Write the notification of a timer's warning or breach to its owner, in the transaction
    that warns or breaches it; once per firing (its due time), however often announced.

    The owner is reached when it names an owner of the asset registry: its id, or its name
    (looked up by ``sla_owners.owner_loop``); free text that names no owner has no channels
    to look up, so nothing is written.
    """
    timer = await conn.fetchrow(
        f"SELECT owner, owner_id, due_at FROM {SCHEMA}.sla_timers WHERE id = $1", timer_id
    )
    owner_id = None if timer is None else timer["owner_id"] or owner_ref(timer["owner"])
    if timer is None or owner_id is None:
        return 0
    inserted = await conn.fetchval(
        f"INSERT INTO {SCHEMA}.approval_notifications (id, timer_id, timer_due_at, owner_id, "
        "reason, next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $6) "
        "ON CONFLICT DO NOTHING RETURNING true",
        uuid7(),
        timer_id,
        timer["due_at"],
        owner_id,
        reason,
        now,
    )
    return 1 if inserted else 0


def owner_ref(owner: str | None) -> UUID | None:
    """The registry owner an ``owner`` field names (``<uuid>`` or ``owner:<uuid>``), if any."""
    if not owner:
        return None
    try:
        return UUID(owner.removeprefix("owner:"))
    except ValueError:
        return None


async def claim_due(*, conn: Conn, now: datetime, batch: int) -> list[Record]:
    """Lock up to ``batch`` notifications due by ``now``, with their approval or timer, in the
    caller's transaction; rows another replica holds are skipped."""
    rows = await conn.fetch(
        f"SELECT n.id, n.approval_id, n.stage_index, n.stage, n.owner_id, n.reason, "
        "n.link_expires_at, n.channel_index, n.attempts, a.status AS approval_status, "
        "a.stage_index AS current_index, a.stage AS current_stage, a.action, a.asset, "
        "a.connector, a.params, a.fingerprint, a.requested_by, "
        "coalesce(a.event_id, t.event_id) AS event_id, a.due_at, n.timer_id, n.timer_due_at, "
        "t.subject_kind, t.subject_id, t.status AS timer_status, t.due_at AS timer_now_due, "
        "t.severity, f.name AS event_name "
        f"FROM {SCHEMA}.approval_notifications n "
        f"LEFT JOIN {SCHEMA}.approvals a ON a.id = n.approval_id "
        f"LEFT JOIN {SCHEMA}.sla_timers t ON t.id = n.timer_id "
        f"LEFT JOIN {SCHEMA}.event_facts f ON f.event_id = t.event_id "
        "WHERE n.status = 'pending' AND n.next_attempt_at <= $1 "
        "ORDER BY n.next_attempt_at LIMIT $2 FOR UPDATE OF n SKIP LOCKED",
        now,
        batch,
    )
    return list(rows)


async def finish(
    *,
    conn: Conn,
    notification_id: UUID,
    status: FinalStatus,
    now: datetime,
    channel: str | None = None,
    error: str | None = None,
) -> None:
    """A notification's last word: delivered, or given up on."""
    await conn.execute(
        f"UPDATE {SCHEMA}.approval_notifications SET status = $2, finished_at = $3, "
        "channel = coalesce($4, channel), last_error = coalesce($5, last_error) WHERE id = $1",
        notification_id,
        status,
        now,
        channel,
        error,
    )


async def retry(
    *,
    conn: Conn,
    notification_id: UUID,
    at: datetime,
    channel_index: int,
    attempts: int,
    channel: str | None,
    error: str,
) -> None:
    """Try the notification again at ``at``, on channel ``channel_index``."""
    await conn.execute(
        f"UPDATE {SCHEMA}.approval_notifications SET next_attempt_at = $2, channel_index = $3, "
        "attempts = $4, channel = $5, last_error = $6 WHERE id = $1",
        notification_id,
        at,
        channel_index,
        attempts,
        channel,
        error,
    )


async def list_for(*, conn: Conn, approval_id: UUID) -> list[Record]:
    """An approval's notifications, oldest first."""
    rows = await conn.fetch(
        f"SELECT id, stage, owner_id, reason, status, channel, channel_index, attempts, "
        f"last_error, next_attempt_at FROM {SCHEMA}.approval_notifications "
        "WHERE approval_id = $1 ORDER BY created_at, owner_id, id",
        approval_id,
    )
    return list(rows)


async def record(
    *,
    conn: Conn,
    approval_id: UUID,
    kind: str,
    actor: str | None,
    channel: str | None,
    detail: dict[str, Any],
) -> None:
    """One line of the approval's history."""
    await conn.execute(
        f"INSERT INTO {SCHEMA}.approval_history (approval_id, kind, actor, channel, detail) "
        "VALUES ($1, $2, $3, $4, $5)",
        approval_id,
        kind,
        actor,
        channel,
        detail,
    )


async def link_used(*, conn: Conn, link_id: UUID) -> bool:
    """Whether a decision link decided already."""
    return bool(
        await conn.fetchval(
            f"SELECT true FROM {SCHEMA}.approval_link_uses WHERE link_id = $1", link_id
        )
    )


async def use_link(
    *, conn: Conn, link_id: UUID, approval_id: UUID, owner_id: UUID, now: datetime
) -> bool:
    """Mark a link used; False if it was used already (by a concurrent request, too)."""
    used = await conn.fetchval(
        f"INSERT INTO {SCHEMA}.approval_link_uses (link_id, approval_id, owner_id, used_at) "
        "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING true",
        link_id,
        approval_id,
        owner_id,
        now,
    )
    if used:
        await conn.execute(f"DELETE FROM {SCHEMA}.approval_link_forms WHERE link_id = $1", link_id)
    return bool(used)


def _hash(form_token: str) -> bytes:
    return hashlib.sha256(form_token.encode("utf-8", "replace")).digest()


async def issue_form(
    *,
    conn: Conn,
    form_token: str,
    link_id: UUID,
    step: Literal["review", "confirm"],
    expires_at: datetime,
    now: datetime,
    decision: str | None = None,
    comment: str | None = None,
) -> None:
    """Store a one-time form token of a link's page (only its hash)."""
    await conn.execute(f"DELETE FROM {SCHEMA}.approval_link_forms WHERE expires_at <= $1", now)
    await conn.execute(
        f"INSERT INTO {SCHEMA}.approval_link_forms (token_hash, link_id, step, decision, "
        "comment, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
        _hash(form_token),
        link_id,
        step,
        decision,
        comment,
        expires_at,
    )


async def take_form(
    *, conn: Conn, form_token: str, link_id: UUID, step: str, now: datetime
) -> Record | None:
    """Use up a form token of this link and step; None if unknown, used or expired."""
    return await conn.fetchrow(
        f"DELETE FROM {SCHEMA}.approval_link_forms WHERE token_hash = $1 AND link_id = $2 "
        "AND step = $3 AND expires_at > $4 RETURNING decision, comment",
        _hash(form_token),
        link_id,
        step,
        now,
    )
