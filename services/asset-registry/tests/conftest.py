"""The asset registry on the shared harness, with the ssh connector and the docs' example."""

from __future__ import annotations

import importlib.util
import io
import logging
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncssh
import httpx
import pytest

from rampart.assets.spec import build_spec
from rampart.connectors.ssh import SshConnector
from rampart.core.connectors import ConnectorRegistry
from rampart.core.crypto import Keyring
from rampart.core.logs import JsonFormatter
from tests.harness import Captured, ServiceHarness, StartServices

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


@dataclass
class Registry:
    """The services on the shared harness, the registry loading ssh and the docs' example: a
    client that records every response, and every ``asset.*`` and ``owner.*`` message."""

    services: ServiceHarness
    client: httpx.AsyncClient
    captured: Captured
    responses: list[str]

    @property
    def keyring(self) -> Keyring:
        """The keyring of the services' master key."""
        return Keyring.from_text(self.services.settings.master_key.get_secret_value())


@pytest.fixture
async def registry(
    start_services: StartServices, fresh_database: str, example_connector: Any
) -> AsyncIterator[Registry]:
    """All five services on a database of the test's own, on ``bus_kind``."""
    connectors = ConnectorRegistry([SshConnector, example_connector])
    async with start_services(
        replace=[build_spec(connectors=lambda: connectors)],
        database_url=fresh_database,
        bus_options={"retry_delay_ms": 10},
    ) as services:
        captured = await services.capture("asset.*", "owner.*")
        responses: list[str] = []

        async def keep(response: httpx.Response) -> None:
            await response.aread()
            responses.append(response.text + repr(dict(response.headers)))

        async with services.client(None, event_hooks={"response": [keep]}) as client:
            yield Registry(services, client, captured, responses)


@pytest.fixture(scope="session")
def ssh_keys() -> dict[str, str]:
    """A host public key and a client private key, for configurations that are never used."""
    return {
        "host_key": asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode(),
        "private_key": asyncssh.generate_private_key("ssh-ed25519").export_private_key().decode(),
    }
