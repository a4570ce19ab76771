"""The registry's state at start: a connector that contradicts the catalog stops the start."""

from __future__ import annotations

from typing import Any

import pytest
from asgi_lifespan import LifespanManager
from pydantic import SecretStr

from rampart.assets.spec import build_spec
from rampart.core.app import create_app
from rampart.core.bus import Topology
from rampart.core.bus.memory import MemoryBus
from rampart.core.connectors import ConnectorRegistry
from rampart.core.crypto import Keyring
from rampart.core.settings import Settings
from rampart.sdk.connector import ConnectorError


async def test_a_contradicting_connector_stops_the_registry_from_starting(
    database_url: str, namespace: str, example_connector: Any
) -> None:
    class Misnamed(example_connector):  # type: ignore[misc,valid-type]
        name = "Not A Name"

    settings = Settings(
        database_url=SecretStr(database_url),
        master_key=SecretStr(Keyring.generate_key_text()),
    )
    spec = build_spec(connectors=lambda: ConnectorRegistry([Misnamed]))
    bus = MemoryBus(topology=Topology(namespace))
    application = create_app([spec], settings, bus=bus, title="Rampart asset registry")
    with pytest.raises(ConnectorError, match="`name` must match"):
        async with LifespanManager(application, startup_timeout=60):
            pass
