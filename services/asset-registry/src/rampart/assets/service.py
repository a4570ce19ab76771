"""What the registry's store modules share: its schema, its messages and its errors."""

from __future__ import annotations

from typing import Any

from rampart.core.envelope import Envelope
from rampart.core.messages import Message
from rampart.core.outbox import enqueue
from rampart.core.problems import Problem

SCHEMA = "assets"
SOURCE = "rampart/asset-registry"


def invalid(field: str, message: str, *, status: int = 422) -> Problem:
    """A problem that names the offending field, shaped like request validation errors."""
    return Problem(
        status,
        f"{field}: {message}",
        title="Invalid request" if status == 422 else None,
        errors=[{"field": field, "message": message}],
    )


def invalid_fields(errors: list[dict[str, str]], *, prefix: str = "body") -> Problem:
    """A 422 problem for several field errors, each field under ``prefix``."""
    named = [{"field": f"{prefix}.{e['field']}", "message": e["message"]} for e in errors]
    first = named[0]
    return Problem(
        422, f"{first['field']}: {first['message']}", title="Invalid request", errors=named
    )


async def publish(conn: Any, *messages: tuple[Message, str]) -> None:
    """Queue (message, subject) pairs in the outbox, inside the caller's transaction."""
    await enqueue(
        conn=conn,
        schema=SCHEMA,
        envelopes=[Envelope.wrap(m, source=SOURCE, subject=subject) for m, subject in messages],
    )
