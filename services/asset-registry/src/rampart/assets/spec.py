"""The asset registry as the platform runs it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rampart.assets import service
from rampart.assets.catalog_views import build_catalog_router
from rampart.assets.installed import InstalledConnectors
from rampart.assets.views import build_asset_router, build_owner_router
from rampart.core.connectors import ConnectorRegistry, discover_connectors
from rampart.core.runtime import ServiceSpec


def build_spec(
    *, connectors: Callable[[], ConnectorRegistry] = discover_connectors
) -> ServiceSpec[Any]:
    """The registry's spec; ``connectors`` finds the installed connectors when it starts."""
    installed = InstalledConnectors(connectors)
    return ServiceSpec(
        name="asset-registry",
        schema=service.SCHEMA,
        migrations_package="rampart.assets",
        routers=(
            build_catalog_router(installed),
            build_owner_router(),
            build_asset_router(installed),
        ),
        workers=(installed.loaded,),
    )


SPEC = build_spec()
