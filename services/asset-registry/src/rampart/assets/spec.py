"""The asset registry as the platform runs it."""

from __future__ import annotations

from rampart.assets import service
from rampart.assets.views import router
from rampart.core.runtime import ServiceSpec

SPEC = ServiceSpec(
    name="asset-registry",
    schema=service.SCHEMA,
    migrations_package="rampart.assets",
    routers=(router,),
)
