"""The caught messages: kept in the catcher's schema, newest first, at most ``KEEP``."""

from __future__ import annotations

import re
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any
from uuid import UUID

from pydantic import BaseModel

from rampart.core.ids import uuid7
from rampart.core.store import Connection, Pool

SCHEMA = "mailcatcher"
KEEP = 1000
"""How many messages are kept; an older one goes when a new one comes."""

_LINK = re.compile(r"https?://[^\s<>\"']+")


class MailSummary(BaseModel):
    """One caught message as a list shows it."""

    id: UUID
    received_at: datetime
    sender: str
    to: list[str]
    subject: str


class MailMessage(MailSummary):
    """One caught message: its plain text and the links in it."""

    text: str
    links: list[str]


async def keep(
    *, pool: Pool, sender: str, recipients: list[str], raw: bytes, now: datetime | None = None
) -> UUID:
    """Store a received message; drop the oldest beyond ``KEEP``."""
    parsed = message_from_bytes(raw, policy=policy.default)
    subject = str(parsed.get("Subject", ""))
    message_id = uuid7()
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            f"INSERT INTO {SCHEMA}.messages (id, received_at, mail_from, rcpt_to, subject, raw) "
            "VALUES ($1, coalesce($2, now()), $3, $4, $5, $6)",
            message_id,
            now,
            sender,
            recipients,
            subject,
            raw,
        )
        await conn.execute(
            f"DELETE FROM {SCHEMA}.messages WHERE id IN (SELECT id FROM {SCHEMA}.messages "
            "ORDER BY received_at DESC, id DESC OFFSET $1)",
            KEEP,
        )
    return message_id


def _summary(row: Any) -> dict[str, Any]:
    return {
        "id": row["id"],
        "received_at": row["received_at"],
        "sender": row["mail_from"],
        "to": list(row["rcpt_to"]),
        "subject": row["subject"],
    }


async def newest(*, conn: Connection, limit: int, to: str | None = None) -> list[MailSummary]:
    """The newest messages first, to ``to`` only when given."""
    rows = await conn.fetch(
        f"SELECT id, received_at, mail_from, rcpt_to, subject FROM {SCHEMA}.messages "
        "WHERE $1::text IS NULL OR lower($1) = ANY (SELECT lower(r) FROM unnest(rcpt_to) r) "
        "ORDER BY received_at DESC, id DESC LIMIT $2",
        to,
        limit,
    )
    return [MailSummary(**_summary(r)) for r in rows]


def _text_of(raw: bytes) -> str:
    parsed = message_from_bytes(raw, policy=policy.default)
    assert isinstance(parsed, EmailMessage)  # the default policy makes EmailMessage objects
    body = parsed.get_body(preferencelist=("plain", "html"))
    if body is None:
        return ""
    content = body.get_content()
    # SMTP carries lines ending in CRLF; a reader's terminal wants them as newlines
    return content.replace("\r\n", "\n") if isinstance(content, str) else ""


async def one(*, conn: Connection, message_id: UUID) -> MailMessage | None:
    """One message with its text, or None."""
    row = await conn.fetchrow(
        f"SELECT id, received_at, mail_from, rcpt_to, subject, raw FROM {SCHEMA}.messages "
        "WHERE id = $1",
        message_id,
    )
    if row is None:
        return None
    text = _text_of(bytes(row["raw"]))
    return MailMessage(**_summary(row), text=text, links=list(dict.fromkeys(_LINK.findall(text))))
