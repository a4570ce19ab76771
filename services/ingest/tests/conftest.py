"""The ingest service on the shared harness (``tests/harness.py``) for every folder's API tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from rampart.ingest.spec import SPEC
from services.ingest.tests._ingest_api import MAX_BODY_BYTES, Ingest, using
from tests.harness import StartServices


@pytest.fixture
async def ingest(start_services: StartServices) -> AsyncIterator[Ingest]:
    """Ingest served on ``bus_kind``: tokens of every role, a capture of what it publishes."""
    async with (
        start_services([SPEC], max_body_bytes=MAX_BODY_BYTES) as running,
        using(running) as app,
    ):
        yield app
