"""``/api/v1/mail``: what the catcher received, for admins (a decision link is a credential)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from rampart.core.auth import Admin
from rampart.core.deps import Conn
from rampart.core.errors import NotFoundError
from rampart.mailcatcher import store

router = APIRouter(tags=["mail catcher"])


@router.get("/mail", summary="Mail the embedded mode caught (admin)")
async def list_mail(
    conn: Conn,
    _who: Admin,
    to: Annotated[str | None, Query(max_length=320, description="one recipient's")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[store.MailSummary]:
    """The newest messages first."""
    return await store.newest(conn=conn, limit=limit, to=to)


@router.get("/mail/{message_id}", summary="One caught message with its text and links (admin)")
async def get_mail(message_id: UUID, conn: Conn, _who: Admin) -> store.MailMessage:
    """The message's plain text and every link in it."""
    found = await store.one(conn=conn, message_id=message_id)
    if found is None:
        raise NotFoundError(f"no caught message {message_id}")
    return found
