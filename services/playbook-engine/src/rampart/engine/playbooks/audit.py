"""The playbook audit trail: upload attempts and runs only an administrator may start."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel

from rampart.core.auth import Principal
from rampart.core.deps import Conn
from rampart.core.ids import uuid7
from rampart.engine.config import SCHEMA


class AuditEntry(BaseModel):
    """One recorded attempt: who, what, on which playbook version, and how it ended."""

    id: UUID
    at: datetime
    actor: str
    token_id: UUID | None
    action: str
    playbook: str | None
    version: int | None
    outcome: str
    detail: str | None


def actor_of(who: Principal) -> str:
    """How a caller is named in the trail: role and token name."""
    return f"{who.role.value}:{who.name}"


async def record(
    *,
    conn: Conn,
    who: Principal,
    action: str,
    outcome: str,
    playbook: str | None = None,
    version: int | None = None,
    detail: str | None = None,
) -> None:
    """Add one entry; outside any transaction a refusal rolls back, so it stays recorded."""
    await conn.execute(
        f"INSERT INTO {SCHEMA}.audit (id, actor, token_id, action, playbook, version, outcome, "
        "detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        uuid7(),
        actor_of(who),
        who.token_id,
        action,
        playbook,
        version,
        outcome,
        detail,
    )


async def entries(*, conn: Conn, limit: int) -> list[AuditEntry]:
    """The newest entries first."""
    rows = await conn.fetch(
        f"SELECT id, at, actor, token_id, action, playbook, version, outcome, detail "
        f"FROM {SCHEMA}.audit ORDER BY at DESC, id DESC LIMIT $1",
        limit,
    )
    return [AuditEntry(**dict(r)) for r in rows]
