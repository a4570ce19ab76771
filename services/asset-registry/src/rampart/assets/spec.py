"""The asset registry as the platform runs it."""

from __future__ import annotations

from collections.abc import Callable

from rampart.assets import service
from rampart.assets.catalog_views import router as catalog_router
from rampart.assets.state import InstalledConnectors, installed_connectors
from rampart.assets.views import asset_router, owner_router
from rampart.core.connectors import ConnectorRegistry, discover_connectors
from rampart.core.runtime import ServiceSpec


def build_spec(
    *, connectors: Callable[[], ConnectorRegistry] = discover_connectors
) -> ServiceSpec[InstalledConnectors]:
    """The registry's spec; ``connectors`` finds the installed connectors when it starts."""
    return ServiceSpec(
        name="asset-registry",
        schema=service.SCHEMA,
        migrations_package="rampart.assets",
        state=installed_connectors(connectors),
        routers=(catalog_router, owner_router, asset_router),
    )


SPEC = build_spec()
