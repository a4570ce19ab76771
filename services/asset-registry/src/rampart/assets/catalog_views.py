"""HTTP routes of the action catalog and the apps (installed connectors)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends

from rampart.assets import apps
from rampart.assets.installed import InstalledConnectors
from rampart.assets.models import ActionPublic, AppPublic
from rampart.core.auth import Principal, Role, require_roles
from rampart.core.connectors import ConnectorRegistry
from rampart.core.problems import Problem
from rampart.sdk.catalog import CATALOG

Reader = Annotated[Principal, Depends(require_roles(Role.ANALYST, Role.SERVICE))]
Kind = Literal["contain", "correct", "investigate", "generic", "test"]


def build_catalog_router(installed: InstalledConnectors) -> APIRouter:
    """Routes of /actions and /apps over the connectors this process loaded."""
    router = APIRouter(tags=["catalog"])
    # A default, not an Annotated alias: the alias would name a local that postponed
    # annotations cannot resolve.
    Registry = Depends(installed.registry)

    @router.get("/actions", summary="List the action catalog")
    async def list_actions(
        _who: Reader,
        registry: ConnectorRegistry = Registry,
        kind: Kind | None = None,
    ) -> list[ActionPublic]:
        """Every vendor-agnostic action, optionally of one kind."""
        return apps.list_actions(registry, kind=kind)

    @router.get("/actions/{name}", summary="Get one action of the catalog")
    async def get_action(
        name: str, _who: Reader, registry: ConnectorRegistry = Registry
    ) -> ActionPublic:
        """One action by its name, e.g. /actions/block%20ip."""
        spec = CATALOG.get(name)
        if spec is None:
            raise Problem(404, f"no action {name!r} in the catalog")
        return apps.describe_action(spec, registry)

    @router.get("/apps", summary="List installed connectors")
    async def list_apps(_who: Reader, registry: ConnectorRegistry = Registry) -> list[AppPublic]:
        """Every installed connector with its actions and configuration schema."""
        return [apps.describe_app(c) for c in registry]

    @router.get("/apps/{name}", summary="Get one installed connector")
    async def get_app(name: str, _who: Reader, registry: ConnectorRegistry = Registry) -> AppPublic:
        """One installed connector by name."""
        connector = registry.get(name)
        if connector is None:
            raise Problem(404, f"no connector {name!r} is installed")
        return apps.describe_app(connector)

    return router
