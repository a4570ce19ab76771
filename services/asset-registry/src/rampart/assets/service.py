"""What the registry's store modules share: its schema and its one way to publish."""

from __future__ import annotations

from rampart.core.outbox import Publisher

SCHEMA = "assets"
SOURCE = "rampart/asset-registry"

publish = Publisher(schema=SCHEMA, source=SOURCE)
"""Writes the registry's messages to its outbox, in the caller's transaction."""
