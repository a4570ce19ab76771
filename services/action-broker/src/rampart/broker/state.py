"""The broker's running state: the registry client, installed connectors, runner identity."""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from uuid import uuid4

from rampart.broker.assets import AssetRegistry
from rampart.broker.settings import BrokerSettings
from rampart.core.connectors import ConnectorRegistry, discover_connectors
from rampart.core.outbox import Publisher
from rampart.core.registry_client import open_registry_client
from rampart.core.runtime import Resources
from rampart.core.vault import Vault

SCHEMA = "broker"


@dataclass(frozen=True, slots=True)
class Runner:
    """Who runs attempts in this process, and how they are paced."""

    name: str
    settings: BrokerSettings


@dataclass(frozen=True, slots=True)
class BrokerState:
    """Everything the broker's handlers, workers and routes share in one process."""

    resources: Resources
    assets: AssetRegistry
    connectors: ConnectorRegistry
    runner: Runner
    publish: Publisher
    settings: BrokerSettings
    vault: Vault


@contextlib.asynccontextmanager
async def broker_state(resources: Resources) -> AsyncIterator[BrokerState]:
    """Load the connectors and open the client to the asset registry."""
    settings = BrokerSettings()
    async with open_registry_client(resources.settings) as registry:
        vault = Vault(resources.pool)
        await vault.prepare()
        yield BrokerState(
            resources=resources,
            assets=AssetRegistry(registry),
            connectors=discover_connectors(),
            runner=Runner(
                name=settings.runner_name
                or f"{socket.gethostname()}:{os.getpid()}:{uuid4().hex[:6]}",
                settings=settings,
            ),
            publish=Publisher(schema=SCHEMA, source="rampart/action-broker"),
            settings=settings,
            vault=vault,
        )
