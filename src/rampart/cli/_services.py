"""The five services by name, imported only when asked for."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rampart.core.runtime import ServiceSpec

SERVICES: dict[str, str] = {
    "ingest": "rampart.ingest.spec",
    "playbook-engine": "rampart.engine.spec",
    "action-broker": "rampart.broker.spec",
    "approvals": "rampart.approvals.spec",
    "asset-registry": "rampart.assets.spec",
    "console": "rampart.console.spec",
}


def service_spec(name: str) -> ServiceSpec[Any]:
    """The spec of one service by its name."""
    from rampart.core.runtime import ServiceSpec

    spec = import_module(SERVICES[name]).SPEC
    assert isinstance(spec, ServiceSpec)
    return spec


def all_specs() -> list[ServiceSpec[Any]]:
    """Every service's spec, in a stable order."""
    return [service_spec(name) for name in SERVICES]
