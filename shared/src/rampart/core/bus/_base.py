"""The bus interface every implementation honours, and the pieces they share."""

from __future__ import annotations

import abc
import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Literal, TypeVar

from pydantic import ValidationError

from rampart.core.envelope import Envelope
from rampart.core.errors import InvalidMessage, PermanentError, TransientError
from rampart.core.messages import Message, UnknownMessageType, message_model

M = TypeVar("M", bound=Message)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Delivery:
    """One delivery of a validated message to a handler."""

    envelope: Envelope
    message: Message
    queue: str
    attempt: int

    def message_as(self, model: type[M]) -> M:
        """The typed message, asserting it is of ``model``."""
        if not isinstance(self.message, model):
            raise InvalidMessage(
                f"{self.queue} expected {model.message_type}, got {self.envelope.type}"
            )
        return self.message


Handler = Callable[[Delivery], Awaitable[None]]

# AMQP 0-9-1 carries a routing key as a short string: at most 255 bytes
MAX_ROUTING_KEY_BYTES = 255
# RabbitMQ 4's default ``max_message_size``; 3.x allowed 128 MiB, and a smaller node-wide
# setting is met by giving the bus the same limit
MAX_MESSAGE_BYTES = 16 * 1024 * 1024


class Unpublishable(PermanentError):
    """Messages no broker would ever take as they are; nothing of the batch was published.

    ``refused`` maps each refused message's index in the batch to the reason, so the caller
    can set those aside and publish the rest.
    """

    def __init__(self, refused: dict[int, str]) -> None:
        self.refused = refused
        first = next(iter(refused.values()))
        super().__init__(f"{len(refused)} message(s) can not be published: {first}")


def refusals(messages: Sequence[Outgoing], *, max_message_bytes: int) -> dict[int, str]:
    """Why each message that can never be published would be refused, by its index."""
    refused: dict[int, str] = {}
    for i, m in enumerate(messages):
        key_bytes = len(m.routing_key.encode())
        if key_bytes > MAX_ROUTING_KEY_BYTES:
            refused[i] = (
                f"routing key of {key_bytes} bytes is over the {MAX_ROUTING_KEY_BYTES}-byte limit"
            )
        elif len(m.body) > max_message_bytes:
            refused[i] = (
                f"body of {len(m.body):,} bytes is over the bus's {max_message_bytes:,}-byte limit"
            )
    return refused


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A serialised envelope on its way out, with what the broker needs to route and show it."""

    message_id: str
    type: str
    routing_key: str
    body: bytes

    @classmethod
    def of(cls, envelope: Envelope) -> Outgoing:
        """Serialise an envelope for publishing."""
        return cls(envelope.id, envelope.type, envelope.routing_key, envelope.to_bytes())


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A message that was dead-lettered from a queue, with the reason."""

    queue: str
    message_id: str
    type: str | None
    reason: str
    body: bytes
    dead_lettered_at: datetime | None


@dataclass(frozen=True, slots=True)
class Topology:
    """Physical names on the broker for one namespace (``rampart`` unless tests isolate)."""

    namespace: str = "rampart"

    @property
    def exchange(self) -> str:
        """The durable topic exchange for domain messages."""
        return self.namespace

    @property
    def dead_letter_exchange(self) -> str:
        """The exchange dead letters go to."""
        return f"{self.namespace}.dlx"

    def queue(self, name: str) -> str:
        """The physical name of a service's queue."""
        return name if self.namespace == "rampart" else f"{self.namespace}.{name}"

    def dead_queue(self, name: str) -> str:
        """The physical name of a queue's dead-letter queue."""
        return f"{self.queue(name)}.dead"


@lru_cache(maxsize=1024)
def _pattern(binding: str) -> re.Pattern[str]:
    parts: list[str] = []
    for word in binding.split("."):
        if word == "#":
            parts.append(r"(?:[^.]+(?:\.[^.]+)*)?")
        elif word == "*":
            parts.append(r"[^.]+")
        else:
            parts.append(re.escape(word))
    regex = r"\.".join(parts)
    # "#" may match zero words, which swallows the dot beside it
    regex = regex.replace(r"\.(?:[^.]+(?:\.[^.]+)*)?", r"(?:\.[^.]+)*")
    regex = regex.replace(r"(?:[^.]+(?:\.[^.]+)*)?\.", r"(?:[^.]+\.)*")
    return re.compile(f"^{regex}$")


def topic_matches(binding: str, routing_key: str) -> bool:
    """AMQP topic matching: ``*`` is exactly one word, ``#`` zero or more."""
    return _pattern(binding).match(routing_key) is not None


def decode(body: bytes) -> tuple[Envelope, Message]:
    """Parse and validate a message body; raises ``InvalidMessage`` with what was wrong."""
    try:
        envelope = Envelope.from_bytes(body)
    except ValidationError as exc:
        raise InvalidMessage(f"not a CloudEvents envelope: {_first_error(exc)}") from None
    try:
        model = message_model(envelope.type)
    except UnknownMessageType as exc:
        raise InvalidMessage(str(exc)) from None
    try:
        message = model.model_validate(envelope.data)
    except ValidationError as exc:
        raise InvalidMessage(f"{envelope.type} data invalid: {_first_error(exc)}") from None
    return envelope, message


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err.get("loc", ())) or "body"
    return f"{where}: {err.get('msg', 'invalid')}"


def retry_delay(attempt: int, *, base_ms: int, cap_ms: int = 30_000) -> float:
    """Exponential backoff in seconds before redelivering after ``attempt`` failed."""
    # a shift, not 2 ** n, so the arithmetic stays int for the type checker
    return min(cap_ms, base_ms * (1 << max(0, attempt - 1))) / 1000


@dataclass(frozen=True, slots=True)
class Outcome:
    """How to settle a delivery once its handler ran: ack, retry after a delay, or dead-letter."""

    action: Literal["ack", "retry", "dead"]
    reason: str = ""
    delay_s: float = 0.0


_ACK = Outcome("ack")


def error_reason(exc: BaseException) -> str:
    """The dead-letter reason for an exception: its type and its message."""
    return f"{type(exc).__name__}: {exc}"


async def dispatch(
    body: bytes,
    *,
    queue: str,
    attempt: int,
    handler: Handler,
    delivery_limit: int,
    retry_delay_ms: int,
    message_id: str | None = None,
) -> Outcome:
    """Decode ``body``, run ``handler`` on it, and decide how the delivery is settled."""
    try:
        envelope, message = decode(body)
    except InvalidMessage as exc:
        extra = {"message_id": message_id, "queue": queue, "attempt": attempt}
        log.warning("dead-lettering invalid message: %s", exc, extra=extra)
        return Outcome("dead", error_reason(exc))
    try:
        await handler(Delivery(envelope, message, queue, attempt))
    except PermanentError as exc:
        extra = {"message_id": envelope.id, "queue": queue, "attempt": attempt}
        log.warning("dead-lettering after permanent error: %s", exc, extra=extra)
        return Outcome("dead", error_reason(exc))
    except Exception as exc:
        # anything else may succeed later (a dependency back up, a bug fixed and replayed)
        return _failed(exc, attempt, delivery_limit, retry_delay_ms, envelope.id, queue)
    except asyncio.CancelledError as exc:
        task = asyncio.current_task()
        if task is None or task.cancelling():
            raise
        # nobody cancelled us: the handler leaked a CancelledError, which is a bug like any other
        return _failed(exc, attempt, delivery_limit, retry_delay_ms, envelope.id, queue)
    return _ACK


def _failed(
    exc: BaseException,
    attempt: int,
    delivery_limit: int,
    retry_delay_ms: int,
    message_id: str,
    queue: str,
) -> Outcome:
    extra = {"message_id": message_id, "queue": queue, "attempt": attempt}
    reason = error_reason(exc)
    if attempt >= delivery_limit:
        log.error(
            "dead-lettering after %d attempts: %s", attempt, reason, extra=extra, exc_info=exc
        )
        return Outcome("dead", f"{reason} (attempt {attempt} of {delivery_limit})")
    # a TransientError is expected and says what happened; anything else needs its traceback
    trace = None if isinstance(exc, TransientError) else exc
    log.warning("handler failed, will retry: %s", reason, extra=extra, exc_info=trace)
    return Outcome("retry", reason, retry_delay(attempt, base_ms=retry_delay_ms))


class Bus(abc.ABC):
    """Publish confirmed messages to topics; consume them from durable, competing queues.

    Semantics every implementation keeps (the contract test suite proves them):
    at-least-once delivery; a handler's message is acknowledged only after the handler
    returns; ``TransientError`` and unexpected errors redeliver with backoff until
    ``delivery_limit`` attempts, then dead-letter with the reason; ``PermanentError`` and
    invalid messages dead-letter at once; consumers of one queue compete, each message
    goes to one of them.
    """

    topology: Topology
    # a message over this size is refused before anything is sent (``Unpublishable``)
    max_message_bytes: int = MAX_MESSAGE_BYTES

    def refuse_unpublishable(self, messages: Sequence[Outgoing]) -> None:
        """Raise ``Unpublishable`` if any message could never be published; send nothing."""
        refused = refusals(messages, max_message_bytes=self.max_message_bytes)
        if refused:
            raise Unpublishable(refused)

    @abc.abstractmethod
    async def start(self) -> None:
        """Connect and declare the exchanges."""

    @abc.abstractmethod
    async def stop_consuming(self) -> None:
        """Stop taking deliveries and let running handlers finish; publishing goes on."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Stop consuming, let running handlers finish, disconnect."""

    async def publish(self, envelopes: Sequence[Envelope]) -> None:
        """Publish persistently; returns once every message is confirmed, raises otherwise."""
        await self.publish_encoded([Outgoing.of(e) for e in envelopes])

    @abc.abstractmethod
    async def publish_encoded(self, messages: Sequence[Outgoing]) -> None:
        """Publish envelopes serialised already (as the outbox stores them); confirmed, as above.

        A batch holding a message that could never be published raises ``Unpublishable``
        and sends none of it.
        """

    @abc.abstractmethod
    async def subscribe(
        self,
        queue: str,
        patterns: Sequence[str],
        handler: Handler,
        *,
        prefetch: int | None = None,
    ) -> None:
        """Declare ``queue`` (and its dead-letter queue), bind it, and start consuming."""

    @abc.abstractmethod
    async def is_ready(self) -> bool:
        """Whether the bus is connected and can publish."""

    @abc.abstractmethod
    async def dead_letters(self, queue: str, *, limit: int = 100) -> list[DeadLetter]:
        """List up to ``limit`` dead letters of ``queue`` without removing them."""

    @abc.abstractmethod
    async def replay_dead_letters(self, queue: str, *, limit: int = 100) -> int:
        """Send up to ``limit`` dead letters back to ``queue``; returns how many."""
