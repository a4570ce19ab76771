"""The asset registry in the embedded app, with the ssh connector and the docs' example."""

from __future__ import annotations

import importlib.util
import io
import logging
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncssh
import httpx
import pytest
from asgi_lifespan import LifespanManager
from pydantic import SecretStr

from rampart.assets.spec import build_spec
from rampart.cli._services import all_specs
from rampart.connectors.ssh import SshConnector
from rampart.core.app import create_app
from rampart.core.auth import Role, create_token
from rampart.core.bus import Delivery, Topology
from rampart.core.bus.memory import MemoryBus
from rampart.core.connectors import ConnectorRegistry
from rampart.core.crypto import Keyring
from rampart.core.logs import JsonFormatter
from rampart.core.settings import Settings

ROOT = Path(__file__).resolve().parents[3]
DOCS_EXAMPLE = "<!-- example: static_list.py -->"


def docs_example_source() -> str:
    """The minimal connector of docs/connectors.md, exactly as the page shows it."""
    after = (ROOT / "docs" / "connectors.md").read_text().split(DOCS_EXAMPLE, 1)[1]
    return after.split("```python\n", 1)[1].split("\n```", 1)[0] + "\n"


@pytest.fixture(scope="session")
def example_connector(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The docs' example connector class, imported from the page's code."""
    path = tmp_path_factory.mktemp("example") / "static_list_example.py"
    path.write_text(docs_example_source())
    spec = importlib.util.spec_from_file_location("static_list_example", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.StaticListConnector


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """Every log record of the test, at DEBUG, as the JSON lines Rampart writes."""
    sink = io.StringIO()
    handler = logging.StreamHandler(sink)
    handler.setFormatter(JsonFormatter())
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield sink
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)


class Registry:
    """A running embedded app, a client, tokens by role and the messages it published."""

    def __init__(self, client: httpx.AsyncClient, tokens: dict[Role, str], keyring: Keyring):
        self.client = client
        self.tokens = tokens
        self.keyring = keyring
        self.messages: list[Delivery] = []
        self.responses: list[str] = []

    def auth(self, role: Role) -> dict[str, str]:
        """Headers for a token of ``role``."""
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def of_type(self, topic: str) -> list[Any]:
        """Published messages of one topic, e.g. ``asset.created``, in arrival order."""
        return [d.message for d in self.messages if d.envelope.routing_key == topic]


@pytest.fixture
async def registry(
    database_url: str, pool: Any, example_connector: Any, namespace: str
) -> AsyncIterator[Registry]:
    """All five services embedded, the registry loading ssh and the docs' example."""
    keyring_text = Keyring.generate_key_text()
    settings = Settings(database_url=SecretStr(database_url), master_key=SecretStr(keyring_text))
    connectors = ConnectorRegistry([SshConnector, example_connector])
    specs = [
        build_spec(connectors=lambda: connectors) if s.name == "asset-registry" else s
        for s in all_specs()
    ]
    bus = MemoryBus(topology=Topology(namespace), retry_delay_ms=10)
    application = create_app(specs, settings, bus=bus, title="Rampart")
    async with LifespanManager(application, startup_timeout=60) as manager:
        tokens: dict[Role, str] = {}
        async with pool.acquire() as conn:
            for role in Role:
                _, tokens[role] = await create_token(conn=conn, name=f"t-{role}", role=role)

        async def keep(response: httpx.Response) -> None:
            await response.aread()
            state.responses.append(response.text + repr(dict(response.headers)))

        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://rampart", event_hooks={"response": [keep]}
        ) as client:
            state = Registry(client, tokens, Keyring.from_text(keyring_text))

            async def collect(delivery: Delivery) -> None:
                state.messages.append(delivery)

            await bus.subscribe(f"test.{uuid.uuid4().hex[:6]}", ("asset.*", "owner.*"), collect)
            yield state


@pytest.fixture(scope="session")
def ssh_keys() -> dict[str, str]:
    """A host public key and a client private key, for configurations that are never used."""
    return {
        "host_key": asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode(),
        "private_key": asyncssh.generate_private_key("ssh-ed25519").export_private_key().decode(),
    }
