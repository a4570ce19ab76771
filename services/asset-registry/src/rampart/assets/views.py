"""HTTP routes of owners and assets: analysts and services read, admins write."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Response

from rampart.assets import assets, owners
from rampart.assets.models import (
    ApproverToken,
    AssetCreate,
    AssetPublic,
    AssetUpdate,
    OwnerCreate,
    OwnerPublic,
    OwnerUpdate,
    SealedConfig,
)
from rampart.assets.state import Installed
from rampart.core.auth import Admin, Reader, ServiceCaller
from rampart.core.connectors import ConnectorRegistry
from rampart.core.deps import Conn
from rampart.core.errors import FieldError, NotFoundError
from rampart.sdk.catalog import CATALOG

owner_router = APIRouter(tags=["owners"])
asset_router = APIRouter(tags=["assets"])


def _no_owner(owner_id: UUID) -> NotFoundError:
    return NotFoundError(f"no owner {owner_id}")


def _no_asset(asset_id: UUID) -> NotFoundError:
    return NotFoundError(f"no asset {asset_id}")


@owner_router.get("/owners", summary="List owners")
async def list_owners(
    conn: Conn,
    _who: Reader,
    kind: Literal["person", "group"] | None = None,
    name: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
) -> list[OwnerPublic]:
    """Every owner by name, optionally only people or only groups, or only the one named."""
    return await owners.list_all(conn=conn, kind=kind, name=name)


@owner_router.post("/owners", status_code=201, summary="Add an owner")
async def post_owner(conn: Conn, response: Response, body: OwnerCreate, _who: Admin) -> OwnerPublic:
    """Add a person or a group of people."""
    created = await owners.create(conn=conn, owner=body)
    response.headers["Location"] = f"/api/v1/owners/{created.id}"
    return created


@owner_router.get("/owners/{owner_id}", summary="Get one owner")
async def get_owner(conn: Conn, owner_id: UUID, _who: Reader) -> OwnerPublic:
    """One owner by id."""
    found = await owners.get(conn=conn, owner_id=owner_id)
    if found is None:
        raise _no_owner(owner_id)
    return found


@owner_router.patch("/owners/{owner_id}", summary="Change an owner")
async def patch_owner(conn: Conn, owner_id: UUID, body: OwnerUpdate, _who: Admin) -> OwnerPublic:
    """Change the fields given."""
    changed = await owners.update(conn=conn, owner_id=owner_id, change=body)
    if changed is None:
        raise _no_owner(owner_id)
    return changed


@owner_router.delete("/owners/{owner_id}", status_code=204, summary="Remove an owner")
async def delete_owner(conn: Conn, owner_id: UUID, _who: Admin) -> Response:
    """Remove an owner that no asset names."""
    if not await owners.delete(conn=conn, owner_id=owner_id):
        raise _no_owner(owner_id)
    return Response(status_code=204)


@owner_router.post(
    "/owners/{owner_id}/approver-tokens", status_code=201, summary="Issue an approver token"
)
async def post_approver_token(conn: Conn, owner_id: UUID, _who: Admin) -> ApproverToken:
    """A token with the approver role bound to this person; shown once."""
    issued = await owners.new_approver_token(conn=conn, owner_id=owner_id)
    if issued is None:
        raise _no_owner(owner_id)
    return issued


def _connector_filter(
    registry: ConnectorRegistry, product: str | None, action: str | None
) -> list[str] | None:
    wanted: set[str] | None = None
    if action is not None:
        if action not in CATALOG:
            raise FieldError("query.action", f"{action!r} is not an action of the catalog")
        wanted = set(registry.implementing(action))
    if product is not None:
        matching = set(registry.for_product(product))
        wanted = matching if wanted is None else wanted & matching
    return None if wanted is None else sorted(wanted)


@asset_router.get("/assets", summary="List or search assets")
async def list_assets(
    conn: Conn,
    _who: Reader,
    installed: Installed,
    name: str | None = None,
    tag: str | None = None,
    product: str | None = None,
    action: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
) -> list[AssetPublic]:
    """Assets matching every filter: exact name, a tag, a product, a catalog action."""
    connectors = _connector_filter(installed.registry, product, action)
    return await assets.search(
        conn=conn,
        registry=installed.registry,
        name=name,
        tag=tag,
        connectors=connectors,
        limit=limit,
    )


@asset_router.post("/assets", status_code=201, summary="Add an asset")
async def post_asset(
    conn: Conn, response: Response, body: AssetCreate, _who: Admin, installed: Installed
) -> AssetPublic:
    """Validate the configuration against the connector's model and store the asset."""
    created = await assets.create(
        conn=conn, registry=installed.registry, keyring=installed.keyring, asset=body
    )
    response.headers["Location"] = f"/api/v1/assets/{created.id}"
    return created


@asset_router.get("/assets/{asset_id}", summary="Get one asset")
async def get_asset(conn: Conn, asset_id: UUID, _who: Reader, installed: Installed) -> AssetPublic:
    """One asset by id."""
    found = await assets.get(conn=conn, registry=installed.registry, asset_id=asset_id)
    if found is None:
        raise _no_asset(asset_id)
    return found


@asset_router.patch("/assets/{asset_id}", summary="Change an asset")
async def patch_asset(
    conn: Conn, asset_id: UUID, body: AssetUpdate, _who: Admin, installed: Installed
) -> AssetPublic:
    """Change the fields given; secrets left out of ``config`` keep their values."""
    changed = await assets.update(
        conn=conn,
        registry=installed.registry,
        keyring=installed.keyring,
        asset_id=asset_id,
        change=body,
    )
    if changed is None:
        raise _no_asset(asset_id)
    return changed


@asset_router.delete("/assets/{asset_id}", status_code=204, summary="Remove an asset")
async def delete_asset(conn: Conn, asset_id: UUID, _who: Admin) -> Response:
    """Remove an asset."""
    if not await assets.delete(conn=conn, asset_id=asset_id):
        raise _no_asset(asset_id)
    return Response(status_code=204)


@asset_router.get("/assets/{asset_id}/sealed-config", summary="Get the encrypted configuration")
async def get_sealed_config(conn: Conn, asset_id: UUID, _who: ServiceCaller) -> SealedConfig:
    """The configuration as stored, still encrypted, for action runners."""
    found = await assets.sealed_config(conn=conn, asset_id=asset_id)
    if found is None:
        raise _no_asset(asset_id)
    return found
