"""Assets: a connector, its configuration sealed at rest, tags, owners and approval policy."""

from __future__ import annotations

import base64
from typing import Any
from uuid import UUID

import asyncpg

from rampart.assets import owners
from rampart.assets.models import AssetCreate, AssetPublic, AssetUpdate, SealedConfig
from rampart.assets.service import SCHEMA, publish
from rampart.core.asset_config import (
    asset_config_aad,
    open_config,
    public_config,
    reveal_config,
    seal_config,
)
from rampart.core.connectors import ConnectorRegistry
from rampart.core.crypto import Keyring, sealed_kid
from rampart.core.deps import Conn
from rampart.core.errors import FieldConflict, FieldError
from rampart.core.ids import uuid7
from rampart.core.messages import AssetCreated, AssetDeleted, AssetUpdated
from rampart.core.store import Record, set_clause
from rampart.sdk.connector import (
    AssetConfig,
    Connector,
    InvalidConfiguration,
    destination_fields,
    secret_fields,
)
from rampart.sdk.policy import ApprovalPolicy

_STAGE_FIELDS = {
    "primary": "primary_owners",
    "secondary": "secondary_owners",
    "executive": "executive_approvers",
}

_SELECT = f"""
SELECT a.id, a.name, a.description, a.connector, a.config_public, a.secrets_set, a.tags,
       a.approval_policy, a.concurrency_limit, a.created_at, a.updated_at,
       coalesce(array_agg(o.owner_id ORDER BY o.position)
                FILTER (WHERE o.stage = 'primary'), '{{}}') AS primary,
       coalesce(array_agg(o.owner_id ORDER BY o.position)
                FILTER (WHERE o.stage = 'secondary'), '{{}}') AS secondary,
       coalesce(array_agg(o.owner_id ORDER BY o.position)
                FILTER (WHERE o.stage = 'executive'), '{{}}') AS executive
FROM {SCHEMA}.assets a LEFT JOIN {SCHEMA}.asset_owners o ON o.asset_id = a.id
"""


def _public(row: Record, registry: ConnectorRegistry) -> AssetPublic:
    connector = registry.get(row["connector"])
    stored = set(row["secrets_set"])
    names = secret_fields(connector.config_model) if connector else sorted(stored)
    return AssetPublic(
        id=row["id"],
        name=row["name"],
        description=row["description"],
        connector=row["connector"],
        config=row["config_public"],
        secrets={name: name in stored for name in names},
        tags=list(row["tags"]),
        primary_owners=list(row["primary"]),
        secondary_owners=list(row["secondary"]),
        executive_approvers=list(row["executive"]),
        approval_policy=ApprovalPolicy.model_validate(row["approval_policy"]),
        concurrency_limit=row["concurrency_limit"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


async def search(
    *,
    conn: Conn,
    registry: ConnectorRegistry,
    name: str | None = None,
    tag: str | None = None,
    connectors: list[str] | None = None,
    limit: int = 500,
) -> list[AssetPublic]:
    """Assets by name, matching every filter given; ``connectors`` limits to those connectors."""
    rows = await conn.fetch(
        _SELECT
        + "WHERE ($1::text IS NULL OR a.name = $1) AND ($2::text IS NULL OR $2 = ANY(a.tags)) "
        "AND ($3::text[] IS NULL OR a.connector = ANY($3)) GROUP BY a.id ORDER BY a.name LIMIT $4",
        name,
        tag,
        connectors,
        limit,
    )
    return [_public(r, registry) for r in rows]


async def get(*, conn: Conn, registry: ConnectorRegistry, asset_id: UUID) -> AssetPublic | None:
    """One asset by id."""
    row = await conn.fetchrow(_SELECT + "WHERE a.id = $1 GROUP BY a.id", asset_id)
    return _public(row, registry) if row else None


def _connector(registry: ConnectorRegistry, name: str) -> type[Connector[Any]]:
    connector = registry.get(name)
    if connector is None:
        installed = ", ".join(c.name for c in registry) or "none"
        raise FieldError(
            "body.connector", f"no connector {name!r} is installed (installed: {installed})"
        )
    return connector


def _parse(connector: type[Connector[Any]], raw: dict[str, Any]) -> AssetConfig:
    try:
        return connector.parse_config(raw)
    except InvalidConfiguration as exc:
        named = [(f"body.{e['field']}", e["message"]) for e in exc.errors]
        raise FieldError(*named[0], more=named[1:]) from None


def _check_policy(connector: type[Connector[Any]], policy: ApprovalPolicy) -> None:
    for key in ("actions", "exempt"):
        for index, action in enumerate(getattr(policy, key)):
            if not connector.implements(action):
                raise FieldError(
                    f"body.approval_policy.{key}.{index}",
                    f"connector {connector.name!r} does not implement {action!r}",
                )


async def _check_owners(*, conn: Conn, stages: dict[str, list[UUID]]) -> None:
    for stage, ids in stages.items():
        missing = await owners.missing_owners(conn=conn, ids=ids)
        if missing:
            field = f"body.{_STAGE_FIELDS[stage]}.{ids.index(missing[0])}"
            raise FieldError(field, f"no owner {missing[0]}")


async def _set_owners(*, conn: Conn, asset_id: UUID, stages: dict[str, list[UUID]]) -> None:
    try:
        await _replace_owners(conn=conn, asset_id=asset_id, stages=stages)
    except asyncpg.ForeignKeyViolationError:
        # An owner checked a moment ago was removed by a concurrent request.
        field = f"body.{_STAGE_FIELDS[next(iter(stages))]}"
        raise FieldError(field, "an owner was removed while this request ran; retry") from None


async def _replace_owners(*, conn: Conn, asset_id: UUID, stages: dict[str, list[UUID]]) -> None:
    await conn.execute(
        f"DELETE FROM {SCHEMA}.asset_owners WHERE asset_id = $1 AND stage = ANY($2::text[])",
        asset_id,
        list(stages),
    )
    await conn.executemany(
        f"INSERT INTO {SCHEMA}.asset_owners (asset_id, owner_id, stage, position) "
        "VALUES ($1, $2, $3, $4)",
        [(asset_id, o, s, i) for s, ids in stages.items() for i, o in enumerate(ids)],
    )


def _seal(config: AssetConfig, *, keyring: Keyring, asset_id: UUID) -> dict[str, Any]:
    revealed = reveal_config(config)
    names = secret_fields(type(config))
    return {
        "config_sealed": seal_config(config, keyring=keyring, asset_id=asset_id),
        "config_public": public_config(config),
        "secrets_set": [n for n in names if revealed.get(n) not in (None, "", b"")],
    }


def _stages(body: AssetCreate | AssetUpdate) -> dict[str, list[UUID]]:
    given = {s: getattr(body, f) for s, f in _STAGE_FIELDS.items()}
    return {s: list(dict.fromkeys(ids)) for s, ids in given.items() if ids is not None}


def _duplicate(name: str) -> FieldConflict:
    return FieldConflict("body.name", f"an asset named {name!r} already exists")


async def create(
    *, conn: Conn, registry: ConnectorRegistry, keyring: Keyring, asset: AssetCreate
) -> AssetPublic:
    """Validate and store an asset, its secrets sealed, and announce it."""
    connector = _connector(registry, asset.connector)
    config = _parse(connector, asset.config)
    _check_policy(connector, asset.approval_policy)
    asset_id = uuid7()
    sealed = _seal(config, keyring=keyring, asset_id=asset_id)
    async with conn.transaction():
        stages = _stages(asset)
        await _check_owners(conn=conn, stages=stages)
        try:
            await conn.execute(
                f"INSERT INTO {SCHEMA}.assets (id, name, description, connector, tags, "
                "config_sealed, config_public, secrets_set, approval_policy, concurrency_limit) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                asset_id,
                asset.name,
                asset.description,
                asset.connector,
                list(dict.fromkeys(asset.tags)),
                sealed["config_sealed"],
                sealed["config_public"],
                sealed["secrets_set"],
                asset.approval_policy.model_dump(mode="json"),
                asset.concurrency_limit,
            )
        except asyncpg.UniqueViolationError:
            raise _duplicate(asset.name) from None
        await _set_owners(conn=conn, asset_id=asset_id, stages=stages)
        message = AssetCreated(
            asset_id=asset_id, name=asset.name, connector=asset.connector, tags=asset.tags
        )
        await publish(conn, message, subject=str(asset_id))
        created = await get(conn=conn, registry=registry, asset_id=asset_id)
    assert created is not None
    return created


def _moved(model: type[AssetConfig], *, before: dict[str, Any], raw: dict[str, Any]) -> bool:
    """Whether ``raw`` changes a field that decides where the secrets are sent."""
    for name in destination_fields(model):
        info = model.model_fields[name]
        now = raw[name] if name in raw else info.get_default(call_default_factory=True)
        if now != before.get(name, info.get_default(call_default_factory=True)):
            return True
    return False


async def _new_config(
    *, row: Record, connector: type[Connector[Any]], raw: dict[str, Any], keyring: Keyring
) -> AssetConfig:
    merged = dict(raw)
    kept = [n for n in secret_fields(connector.config_model) if n not in merged]
    if _moved(connector.config_model, before=row["config_public"] or {}, raw=raw):
        # the secrets were given for one host and account: never send them to another
        kept = []
    if kept and row["config_sealed"] is not None:
        stored = open_config(row["config_sealed"], keyring=keyring, asset_id=row["id"])
        merged.update({n: stored[n] for n in kept if n in stored})
    return _parse(connector, merged)


async def update(
    *,
    conn: Conn,
    registry: ConnectorRegistry,
    keyring: Keyring,
    asset_id: UUID,
    change: AssetUpdate,
) -> AssetPublic | None:
    """Apply the given changes and announce which fields changed; None if no such asset."""
    given = {f for f in change.model_fields_set if getattr(change, f) is not None}
    async with conn.transaction():
        row = await conn.fetchrow(
            f"SELECT * FROM {SCHEMA}.assets WHERE id = $1 FOR UPDATE", asset_id
        )
        if row is None:
            return None
        connector = _connector(registry, row["connector"])
        columns: dict[str, Any] = {}
        if change.config is not None:
            config = await _new_config(
                row=row, connector=connector, raw=change.config, keyring=keyring
            )
            columns.update(_seal(config, keyring=keyring, asset_id=asset_id))
        policy = change.approval_policy or ApprovalPolicy.model_validate(row["approval_policy"])
        _check_policy(connector, policy)
        if change.approval_policy is not None:
            columns["approval_policy"] = policy.model_dump(mode="json")
        for simple in ("name", "description", "concurrency_limit"):
            if simple in given:
                columns[simple] = getattr(change, simple)
        if change.tags is not None:
            columns["tags"] = list(dict.fromkeys(change.tags))
        stages = _stages(change)
        await _check_owners(conn=conn, stages=stages)
        if columns:
            assignments, values = set_clause(columns, first=2)
            try:
                await conn.execute(
                    f"UPDATE {SCHEMA}.assets SET {assignments}, updated_at = now() WHERE id = $1",
                    asset_id,
                    *values,
                )
            except asyncpg.UniqueViolationError:
                raise _duplicate(str(change.name)) from None
        if stages:
            await _set_owners(conn=conn, asset_id=asset_id, stages=stages)
            await conn.execute(
                f"UPDATE {SCHEMA}.assets SET updated_at = now() WHERE id = $1", asset_id
            )
        if given:
            name = change.name or row["name"]
            message = AssetUpdated(asset_id=asset_id, name=name, fields=sorted(given))
            await publish(conn, message, subject=str(asset_id))
        return await get(conn=conn, registry=registry, asset_id=asset_id)


async def delete(*, conn: Conn, asset_id: UUID) -> bool:
    """Remove an asset and announce it; False if there is no such asset."""
    async with conn.transaction():
        name = await conn.fetchval(
            f"DELETE FROM {SCHEMA}.assets WHERE id = $1 RETURNING name", asset_id
        )
        if name is None:
            return False
        await publish(conn, AssetDeleted(asset_id=asset_id, name=name), subject=str(asset_id))
        return True


async def sealed_config(*, conn: Conn, asset_id: UUID) -> SealedConfig | None:
    """The asset's configuration as stored: encrypted, for a runner holding the master key."""
    row = await conn.fetchrow(
        f"SELECT id, connector, config_sealed FROM {SCHEMA}.assets WHERE id = $1", asset_id
    )
    if row is None or row["config_sealed"] is None:
        return None
    sealed = bytes(row["config_sealed"])
    return SealedConfig(
        asset_id=row["id"],
        connector=row["connector"],
        key_id=sealed_kid(sealed),
        associated_data=asset_config_aad(row["id"]).decode(),
        sealed=base64.b64encode(sealed).decode("ascii"),
    )
