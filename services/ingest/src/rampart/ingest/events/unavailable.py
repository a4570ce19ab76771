"""Turning a database that does not answer into a 503 the sender can retry."""

from __future__ import annotations

import asyncpg

from rampart.core.problems import Problem

UNAVAILABLE = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
)


def unavailable() -> Problem:
    """The answer when the event store is out of reach: 503 with Retry-After."""
    return Problem(
        503, "the event store is unavailable; retry shortly", headers={"Retry-After": "5"}
    )
