"""What the engine and its playbook processes say to each other: typed messages in frames.

A frame is a 4-byte length, then the message as JSON; ``op`` says which message it is.

Engine → process: ``Ping``, ``Inspect`` (import a source, describe its playbook), ``Match``
(run a predicate), ``Replay`` (one pass over a run's history) and ``LookupReply`` (the answer
to a lookup the process asked for during a pass).

Process → engine: ``Pong``, ``Inspected``, ``Matched``, ``Replayed``, ``Lookup`` (a question
the pass needs answered: ``ctx.assets``), ``Aborted`` (a lookup failed: retry the pass later),
``Invalid`` (the source does not load) and ``Failed`` (the request itself was wrong).
"""

from __future__ import annotations

import asyncio
import struct
from typing import Annotated, Any, BinaryIO, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from rampart.engine.steps import Step

_HEADER = struct.Struct(">I")
MAX_FRAME = 64 * 1024 * 1024

Outcome = Literal["completed", "failed", "waiting", "nondeterministic", "budget"]


class _Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PlaybookMeta(_Message):
    """What the engine stores about a playbook besides its source."""

    name: str
    labels: list[str]
    priority: int
    budget: dict[str, Any]
    on_update: bool
    has_predicate: bool
    description: str
    entry: str


# engine → process


class Ping(_Message):
    """Are you up?"""

    op: Literal["ping"] = "ping"


class Inspect(_Message):
    """Import ``source`` and describe its one playbook."""

    op: Literal["inspect"] = "inspect"
    source: str
    filename: str


class Match(_Message):
    """Run the predicate of the playbook ``digest`` on ``event``."""

    op: Literal["match"] = "match"
    digest: str
    filename: str
    event: dict[str, Any]
    source: str | None = None


class Replay(_Message):
    """Run one pass of the playbook ``digest`` over a run's history."""

    op: Literal["replay"] = "replay"
    digest: str
    filename: str
    run_id: UUID
    event: dict[str, Any]
    history: list[Step]
    max_steps: int
    source: str | None = None


class LookupReply(_Message):
    """The engine's answer to a ``Lookup``."""

    op: Literal["reply"] = "reply"
    ok: bool
    value: Any = None
    error: str | None = None


# process → engine


class Pong(_Message):
    """Up, as process ``pid``."""

    op: Literal["pong"] = "pong"
    pid: int


class Inspected(_Message):
    """The source imported; this is its playbook."""

    op: Literal["inspected"] = "inspected"
    playbook: PlaybookMeta


class Matched(_Message):
    """The predicate's answer; ``error`` when it raised (counted as no match)."""

    op: Literal["matched"] = "matched"
    matched: bool
    error: str | None = None


class Replayed(_Message):
    """A pass ended: how, and the new steps it issued, in step order."""

    op: Literal["replayed"] = "replayed"
    outcome: Outcome
    value: Any = None
    error: str | None = None
    waiting: list[int] = Field(default_factory=list)
    commands: list[Step] = Field(default_factory=list)


class Lookup(_Message):
    """The pass needs the engine to answer ``what`` (``assets``) with ``args``."""

    op: Literal["call"] = "call"
    what: str
    args: dict[str, Any] = Field(default_factory=dict)


class Aborted(_Message):
    """A lookup failed; the pass was abandoned and is retried later."""

    op: Literal["aborted"] = "aborted"
    error: str


class Invalid(_Message):
    """The playbook's source does not load."""

    op: Literal["invalid"] = "invalid"
    error: str
    line: int | None = None


class Failed(_Message):
    """The request could not be served."""

    op: Literal["error"] = "error"
    error: str


ToProcess = Annotated[Ping | Inspect | Match | Replay | LookupReply, Field(discriminator="op")]
FromProcess = Annotated[
    Pong | Inspected | Matched | Replayed | Lookup | Aborted | Invalid | Failed,
    Field(discriminator="op"),
]
_TO: TypeAdapter[ToProcess] = TypeAdapter(ToProcess)
_FROM: TypeAdapter[FromProcess] = TypeAdapter(FromProcess)


def encode(message: _Message) -> bytes:
    """One frame holding ``message``."""
    body = message.model_dump_json().encode()
    if len(body) > MAX_FRAME:
        raise ValueError(f"a frame of {len(body)} bytes is over the {MAX_FRAME} byte limit")
    return _HEADER.pack(len(body)) + body


def read_blocking(stream: BinaryIO) -> ToProcess | None:
    """The engine's next message, from a blocking stream; None at end of stream."""
    header = _read_exactly(stream, _HEADER.size)
    if header is None:
        return None
    (size,) = _HEADER.unpack(header)
    body = _read_exactly(stream, size)
    if body is None:
        return None
    return _TO.validate_json(body)


def _read_exactly(stream: BinaryIO, size: int) -> bytes | None:
    chunks: list[bytes] = []
    left = size
    while left:
        chunk = stream.read(left)
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


async def read(reader: asyncio.StreamReader) -> FromProcess:
    """A playbook process's next message; ``IncompleteReadError`` at end of stream."""
    (size,) = _HEADER.unpack(await reader.readexactly(_HEADER.size))
    return _FROM.validate_json(await reader.readexactly(size))
