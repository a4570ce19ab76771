"""Owners: people and groups who answer for assets, and the approver tokens bound to them."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from rampart.assets.models import ApproverToken, OwnerCreate, OwnerPublic, OwnerUpdate
from rampart.assets.service import SCHEMA, publish
from rampart.core.auth import Role, create_token
from rampart.core.deps import Conn
from rampart.core.errors import ConflictError, FieldConflict, FieldError
from rampart.core.ids import uuid7
from rampart.core.messages import OwnerCreated, OwnerDeleted, OwnerUpdated
from rampart.core.store import set_clause

_SELECT = f"""
SELECT o.id, o.name, o.kind, o.description, o.email, o.webhook_url, o.slack_webhook_url,
       o.teams_webhook_url, o.created_at, o.updated_at,
       coalesce((SELECT array_agg(m.person_id ORDER BY m.person_id)
                 FROM {SCHEMA}.group_members m WHERE m.group_id = o.id), '{{}}') AS members,
       coalesce((SELECT array_agg(g.group_id ORDER BY g.group_id)
                 FROM {SCHEMA}.group_members g WHERE g.person_id = o.id), '{{}}') AS member_of
FROM {SCHEMA}.owners o
"""


async def get(*, conn: Conn, owner_id: UUID) -> OwnerPublic | None:
    """One owner by id."""
    row = await conn.fetchrow(_SELECT + "WHERE o.id = $1", owner_id)
    return OwnerPublic(**dict(row)) if row else None


async def list_all(
    *, conn: Conn, kind: str | None = None, name: str | None = None
) -> list[OwnerPublic]:
    """Every owner by name, optionally only people or only groups, or only the one named."""
    rows = await conn.fetch(
        _SELECT + "WHERE ($1::text IS NULL OR o.kind = $1) AND ($2::text IS NULL OR o.name = $2) "
        "ORDER BY o.name",
        kind,
        name,
    )
    return [OwnerPublic(**dict(r)) for r in rows]


async def missing_owners(*, conn: Conn, ids: list[UUID], people_only: bool = False) -> list[UUID]:
    """The ids among ``ids`` that are not owners (or, with people_only, not people)."""
    found = await conn.fetch(
        f"SELECT id FROM {SCHEMA}.owners WHERE id = ANY($1::uuid[]) "
        "AND (NOT $2 OR kind = 'person')",
        ids,
        people_only,
    )
    known = {r["id"] for r in found}
    return [i for i in ids if i not in known]


async def _check_members(*, conn: Conn, kind: str, members: list[UUID]) -> list[UUID]:
    members = list(dict.fromkeys(members))
    if members and kind != "group":
        raise FieldError("body.members", "only a group has members")
    missing = await missing_owners(conn=conn, ids=members, people_only=True)
    if missing:
        index = members.index(missing[0])
        raise FieldError(f"body.members.{index}", f"{missing[0]} is not a person in the registry")
    return members


async def _set_members(*, conn: Conn, group_id: UUID, members: list[UUID]) -> None:
    await conn.execute(f"DELETE FROM {SCHEMA}.group_members WHERE group_id = $1", group_id)
    try:
        await conn.executemany(
            f"INSERT INTO {SCHEMA}.group_members (group_id, person_id) VALUES ($1, $2)",
            [(group_id, m) for m in members],
        )
    except asyncpg.ForeignKeyViolationError:
        # A person checked a moment ago was removed by a concurrent request.
        raise FieldError("body.members", "a member was removed while this request ran") from None


def _duplicate_name(name: str) -> FieldConflict:
    return FieldConflict("body.name", f"an owner named {name!r} already exists")


async def create(*, conn: Conn, owner: OwnerCreate) -> OwnerPublic:
    """Add an owner and announce it."""
    owner_id = uuid7()
    async with conn.transaction():
        members = await _check_members(conn=conn, kind=owner.kind, members=owner.members)
        try:
            await conn.execute(
                f"INSERT INTO {SCHEMA}.owners (id, name, kind, description, email, webhook_url, "
                "slack_webhook_url, teams_webhook_url) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                owner_id,
                owner.name,
                owner.kind,
                owner.description,
                owner.email,
                owner.webhook_url,
                owner.slack_webhook_url,
                owner.teams_webhook_url,
            )
        except asyncpg.UniqueViolationError:
            raise _duplicate_name(owner.name) from None
        await _set_members(conn=conn, group_id=owner_id, members=members)
        await publish(
            conn,
            OwnerCreated(owner_id=owner_id, name=owner.name, kind=owner.kind),
            subject=str(owner_id),
        )
        created = await get(conn=conn, owner_id=owner_id)
    assert created is not None
    return created


async def update(*, conn: Conn, owner_id: UUID, change: OwnerUpdate) -> OwnerPublic | None:
    """Change an owner's fields that were given; None if there is no such owner."""
    given = change.model_fields_set
    async with conn.transaction():
        row = await conn.fetchrow(
            f"SELECT * FROM {SCHEMA}.owners WHERE id = $1 FOR UPDATE", owner_id
        )
        if row is None:
            return None
        if "name" in given and change.name is None:
            raise FieldError("body.name", "an owner needs a name")
        contacts = ("email", "webhook_url", "slack_webhook_url", "teams_webhook_url")
        given_values = {k: getattr(change, k) for k in ("name", "description", *contacts)}
        updates = {k: v for k, v in given_values.items() if k in given and v != row[k]}
        if "description" in updates and updates["description"] is None:
            updates["description"] = ""
        if updates:
            assignments, values = set_clause(updates, first=2)
            try:
                await conn.execute(
                    f"UPDATE {SCHEMA}.owners SET {assignments}, updated_at = now() WHERE id = $1",
                    owner_id,
                    *values,
                )
            except asyncpg.UniqueViolationError:
                raise _duplicate_name(str(change.name)) from None
        fields = sorted(updates)
        if "members" in given:
            members = await _check_members(
                conn=conn, kind=row["kind"], members=change.members or []
            )
            current = await get(conn=conn, owner_id=owner_id)
            assert current is not None
            if sorted(current.members) != sorted(members):
                await _set_members(conn=conn, group_id=owner_id, members=members)
                await conn.execute(
                    f"UPDATE {SCHEMA}.owners SET updated_at = now() WHERE id = $1", owner_id
                )
                fields.append("members")
        if fields:
            name = updates.get("name", row["name"])
            await publish(
                conn,
                OwnerUpdated(owner_id=owner_id, name=name, fields=fields),
                subject=str(owner_id),
            )
        return await get(conn=conn, owner_id=owner_id)


async def delete(*, conn: Conn, owner_id: UUID) -> bool:
    """Remove an owner no asset names; False if there is no such owner."""
    async with conn.transaction():
        row = await conn.fetchrow(
            f"SELECT name FROM {SCHEMA}.owners WHERE id = $1 FOR UPDATE", owner_id
        )
        if row is None:
            return False
        assets = await conn.fetch(
            f"SELECT DISTINCT a.name FROM {SCHEMA}.asset_owners x "
            f"JOIN {SCHEMA}.assets a ON a.id = x.asset_id WHERE x.owner_id = $1 ORDER BY a.name",
            owner_id,
        )
        if assets:
            names = ", ".join(r["name"] for r in assets)
            raise ConflictError(
                f"owner {row['name']!r} answers for assets ({names}); "
                "replace it on those assets first",
                assets=[r["name"] for r in assets],
            )
        groups = await conn.fetch(
            f"SELECT g.id, g.name FROM {SCHEMA}.group_members m "
            f"JOIN {SCHEMA}.owners g ON g.id = m.group_id WHERE m.person_id = $1",
            owner_id,
        )
        await conn.execute(f"DELETE FROM {SCHEMA}.owners WHERE id = $1", owner_id)
        await conn.execute(
            f"UPDATE {SCHEMA}.owners SET updated_at = now() WHERE id = ANY($1::uuid[])",
            [g["id"] for g in groups],
        )
        await publish(
            conn, OwnerDeleted(owner_id=owner_id, name=row["name"]), subject=str(owner_id)
        )
        for group in groups:
            changed = OwnerUpdated(owner_id=group["id"], name=group["name"], fields=["members"])
            await publish(conn, changed, subject=str(group["id"]))
        return True


async def new_approver_token(*, conn: Conn, owner_id: UUID) -> ApproverToken | None:
    """Create an approver token whose subject is the person's id; None if no such owner."""
    owner = await get(conn=conn, owner_id=owner_id)
    if owner is None:
        return None
    if owner.kind != "person":
        raise FieldError("owner_id", "approver tokens are for people; a group decides through them")
    name = f"approver:{owner.name}"
    info, secret = await create_token(
        conn=conn, name=name, role=Role.APPROVER, subject=str(owner_id)
    )
    return ApproverToken(
        owner_id=owner_id, token_id=info.id, name=name, subject=str(owner_id), token=secret
    )
