"""HTTP routes of the action catalog and the apps (installed connectors)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter

from rampart.assets import apps
from rampart.assets.models import ActionPublic, AppPublic
from rampart.assets.state import Installed
from rampart.core.auth import Reader
from rampart.core.errors import NotFoundError
from rampart.sdk.catalog import CATALOG

Kind = Literal["contain", "correct", "investigate", "generic", "test"]

router = APIRouter(tags=["catalog"])


@router.get("/actions", summary="List the action catalog")
async def list_actions(
    _who: Reader, installed: Installed, kind: Kind | None = None
) -> list[ActionPublic]:
    """Every vendor-agnostic action, optionally of one kind."""
    return apps.list_actions(installed.registry, kind=kind)


@router.get("/actions/{name}", summary="Get one action of the catalog")
async def get_action(name: str, _who: Reader, installed: Installed) -> ActionPublic:
    """One action by its name, e.g. /actions/block%20ip."""
    spec = CATALOG.get(name)
    if spec is None:
        raise NotFoundError(f"no action {name!r} in the catalog")
    return apps.describe_action(spec, installed.registry)


@router.get("/apps", summary="List installed connectors")
async def list_apps(_who: Reader, installed: Installed) -> list[AppPublic]:
    """Every installed connector with its actions and configuration schema."""
    return [apps.describe_app(c) for c in installed.registry]


@router.get("/apps/{name}", summary="Get one installed connector")
async def get_app(name: str, _who: Reader, installed: Installed) -> AppPublic:
    """One installed connector by name."""
    connector = installed.registry.get(name)
    if connector is None:
        raise NotFoundError(f"no connector {name!r} is installed")
    return apps.describe_app(connector)
