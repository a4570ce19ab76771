"""The ingest service in-process, on the in-process bus, for the API tests of every folder."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from services.ingest.tests._ingest_helpers import IngestApp, running_ingest


@pytest.fixture
async def ingest(database_url: str, pool: Any, namespace: str) -> AsyncIterator[IngestApp]:
    """A running ingest service with tokens of every role and a capture of what it publishes."""
    async for app in running_ingest(database_url, pool, namespace):
        yield app
