"""The ingest service's application factory."""

from __future__ import annotations

from fastapi import FastAPI

from rampart.core.app import create_app as create_platform_app
from rampart.core.settings import Settings
from rampart.ingest.spec import SPEC


def create_app(settings: Settings | None = None) -> FastAPI:
    """The ingest service alone."""
    return create_platform_app([SPEC], settings, title="Rampart ingest")
