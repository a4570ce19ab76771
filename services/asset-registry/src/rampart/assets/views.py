"""HTTP routes of owners and assets: analysts and services read, admins write."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response

from rampart.assets import assets, owners
from rampart.assets.installed import InstalledConnectors
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
from rampart.assets.service import invalid
from rampart.core.auth import Principal, Role, require_roles
from rampart.core.connectors import ConnectorRegistry
from rampart.core.problems import Problem
from rampart.sdk.catalog import CATALOG

Reader = Annotated[Principal, Depends(require_roles(Role.ANALYST, Role.SERVICE))]
Admin = Annotated[Principal, Depends(require_roles())]
Runner = Annotated[Principal, Depends(require_roles(Role.SERVICE))]


def _no_owner(owner_id: UUID) -> Problem:
    return Problem(404, f"no owner {owner_id}")


def _no_asset(asset_id: UUID) -> Problem:
    return Problem(404, f"no asset {asset_id}")


def build_owner_router() -> APIRouter:
    """Routes of /owners."""
    router = APIRouter(tags=["owners"])

    @router.get("/owners", summary="List owners")
    async def list_owners(
        request: Request, _who: Reader, kind: Literal["person", "group"] | None = None
    ) -> list[OwnerPublic]:
        """Every owner by name, optionally only people or only groups."""
        async with request.state.pool.acquire() as conn:
            return await owners.list_all(conn=conn, kind=kind)

    @router.post("/owners", status_code=201, summary="Add an owner")
    async def post_owner(
        request: Request, response: Response, body: OwnerCreate, _who: Admin
    ) -> OwnerPublic:
        """Add a person or a group of people."""
        async with request.state.pool.acquire() as conn:
            created = await owners.create(conn=conn, owner=body)
        response.headers["Location"] = f"/api/v1/owners/{created.id}"
        return created

    @router.get("/owners/{owner_id}", summary="Get one owner")
    async def get_owner(request: Request, owner_id: UUID, _who: Reader) -> OwnerPublic:
        """One owner by id."""
        async with request.state.pool.acquire() as conn:
            found = await owners.get(conn=conn, owner_id=owner_id)
        if found is None:
            raise _no_owner(owner_id)
        return found

    @router.patch("/owners/{owner_id}", summary="Change an owner")
    async def patch_owner(
        request: Request, owner_id: UUID, body: OwnerUpdate, _who: Admin
    ) -> OwnerPublic:
        """Change the fields given."""
        async with request.state.pool.acquire() as conn:
            changed = await owners.update(conn=conn, owner_id=owner_id, change=body)
        if changed is None:
            raise _no_owner(owner_id)
        return changed

    @router.delete("/owners/{owner_id}", status_code=204, summary="Remove an owner")
    async def delete_owner(request: Request, owner_id: UUID, _who: Admin) -> Response:
        """Remove an owner that no asset names."""
        async with request.state.pool.acquire() as conn:
            if not await owners.delete(conn=conn, owner_id=owner_id):
                raise _no_owner(owner_id)
        return Response(status_code=204)

    @router.post(
        "/owners/{owner_id}/approver-tokens", status_code=201, summary="Issue an approver token"
    )
    async def post_approver_token(request: Request, owner_id: UUID, _who: Admin) -> ApproverToken:
        """A token with the approver role bound to this person; shown once."""
        async with request.state.pool.acquire() as conn:
            issued = await owners.new_approver_token(conn=conn, owner_id=owner_id)
        if issued is None:
            raise _no_owner(owner_id)
        return issued

    return router


def _connector_filter(
    registry: ConnectorRegistry, product: str | None, action: str | None
) -> list[str] | None:
    wanted: set[str] | None = None
    if action is not None:
        if action not in CATALOG:
            raise invalid("query.action", f"{action!r} is not an action of the catalog")
        wanted = set(registry.implementing(action))
    if product is not None:
        matching = set(registry.for_product(product))
        wanted = matching if wanted is None else wanted & matching
    return None if wanted is None else sorted(wanted)


def build_asset_router(installed: InstalledConnectors) -> APIRouter:
    """Routes of /assets over the connectors this process loaded."""
    router = APIRouter(tags=["assets"])
    # A default, not an Annotated alias: the alias would name a local that postponed
    # annotations cannot resolve.
    Registry = Depends(installed.registry)

    @router.get("/assets", summary="List or search assets")
    async def list_assets(
        request: Request,
        _who: Reader,
        registry: ConnectorRegistry = Registry,
        name: str | None = None,
        tag: str | None = None,
        product: str | None = None,
        action: str | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 500,
    ) -> list[AssetPublic]:
        """Assets matching every filter: exact name, a tag, a product, a catalog action."""
        connectors = _connector_filter(registry, product, action)
        async with request.state.pool.acquire() as conn:
            return await assets.search(
                conn=conn, registry=registry, name=name, tag=tag, connectors=connectors, limit=limit
            )

    @router.post("/assets", status_code=201, summary="Add an asset")
    async def post_asset(
        request: Request,
        response: Response,
        body: AssetCreate,
        _who: Admin,
        registry: ConnectorRegistry = Registry,
    ) -> AssetPublic:
        """Validate the configuration against the connector's model and store the asset."""
        async with request.state.pool.acquire() as conn:
            created = await assets.create(
                conn=conn, registry=registry, keyring=request.state.keyring, asset=body
            )
        response.headers["Location"] = f"/api/v1/assets/{created.id}"
        return created

    @router.get("/assets/{asset_id}", summary="Get one asset")
    async def get_asset(
        request: Request,
        asset_id: UUID,
        _who: Reader,
        registry: ConnectorRegistry = Registry,
    ) -> AssetPublic:
        """One asset by id."""
        async with request.state.pool.acquire() as conn:
            found = await assets.get(conn=conn, registry=registry, asset_id=asset_id)
        if found is None:
            raise _no_asset(asset_id)
        return found

    @router.patch("/assets/{asset_id}", summary="Change an asset")
    async def patch_asset(
        request: Request,
        asset_id: UUID,
        body: AssetUpdate,
        _who: Admin,
        registry: ConnectorRegistry = Registry,
    ) -> AssetPublic:
        """Change the fields given; secrets left out of ``config`` keep their values."""
        async with request.state.pool.acquire() as conn:
            changed = await assets.update(
                conn=conn,
                registry=registry,
                keyring=request.state.keyring,
                asset_id=asset_id,
                change=body,
            )
        if changed is None:
            raise _no_asset(asset_id)
        return changed

    @router.delete("/assets/{asset_id}", status_code=204, summary="Remove an asset")
    async def delete_asset(request: Request, asset_id: UUID, _who: Admin) -> Response:
        """Remove an asset."""
        async with request.state.pool.acquire() as conn:
            if not await assets.delete(conn=conn, asset_id=asset_id):
                raise _no_asset(asset_id)
        return Response(status_code=204)

    @router.get("/assets/{asset_id}/sealed-config", summary="Get the encrypted configuration")
    async def get_sealed_config(request: Request, asset_id: UUID, _who: Runner) -> SealedConfig:
        """The configuration as stored, still encrypted, for action runners."""
        async with request.state.pool.acquire() as conn:
            found = await assets.sealed_config(conn=conn, asset_id=asset_id)
        if found is None:
            raise _no_asset(asset_id)
        return found

    return router
