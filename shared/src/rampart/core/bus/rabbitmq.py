"""The RabbitMQ bus: quorum queues, publisher confirms, consumer-side retries and dead letters."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

import aio_pika
import aiormq
from aio_pika.abc import (
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustChannel,
    AbstractRobustConnection,
)
from aio_pika.exceptions import ChannelNotFoundEntity

from rampart.core.bus._base import (
    Bus,
    DeadLetter,
    Handler,
    Outgoing,
    Topology,
    dispatch,
    error_reason,
    retry_delay,
)
from rampart.core.errors import TransientError

log = logging.getLogger(__name__)
_T = TypeVar("_T")

CONTENT_TYPE = "application/cloudevents+json"
REASON_HEADER = "x-rampart-reason"
QUEUE_HEADER = "x-rampart-queue"
DEAD_AT_HEADER = "x-rampart-dead-at"
# failed deliveries Rampart counted itself: a retry is a confirmed copy with this header, so
# the delivery limit holds whatever the broker counts (RabbitMQ 4.3+ no longer counts a nack)
ATTEMPTS_HEADER = "x-rampart-attempts"
# set by the broker or by us on the way to the dead queue; a replayed message starts clean
_TRANSPORT_HEADERS = frozenset(
    {
        "x-delivery-count",
        "x-death",
        "x-first-death-exchange",
        "x-first-death-queue",
        "x-first-death-reason",
        "x-last-death-exchange",
        "x-last-death-queue",
        "x-last-death-reason",
        REASON_HEADER,
        QUEUE_HEADER,
        DEAD_AT_HEADER,
        ATTEMPTS_HEADER,
    }
)
_DEFAULT_TOPOLOGY = Topology()


@dataclass(slots=True)
class _Subscription:
    queue: str
    physical: str
    handler: Handler
    channel: AbstractRobustChannel
    amqp_queue: AbstractQueue
    tag: str = ""


class RabbitBus(Bus):
    """A ``Bus`` on RabbitMQ: one topic exchange, durable quorum queues, a dead queue each."""

    def __init__(
        self,
        url: str,
        *,
        topology: Topology = _DEFAULT_TOPOLOGY,
        delivery_limit: int = 5,
        retry_delay_ms: int = 200,
        prefetch: int = 32,
        publish_timeout_s: float = 10.0,
        shutdown_grace_s: float = 30.0,
        connection_name: str = "rampart",
        connect_timeout_s: float = 30.0,
    ) -> None:
        self.topology = topology
        # a broker that takes the TCP connection but never answers the handshake (a wedged
        # node) fails start() after this long, instead of holding the service's start forever
        self._connect_timeout_s = connect_timeout_s
        self._url = url
        self._connection_name = connection_name
        self._delivery_limit = delivery_limit
        self._retry_delay_ms = retry_delay_ms
        self._prefetch = prefetch
        self._publish_timeout_s = publish_timeout_s
        self._shutdown_grace_s = shutdown_grace_s
        self._connection: AbstractRobustConnection | None = None
        # consumers get a connection of their own: the broker's flow control blocks a
        # publishing connection, and acks should not queue behind publishes on one socket
        self._consumer_connection: AbstractRobustConnection | None = None
        self._channel: AbstractRobustChannel | None = None
        self._exchange: AbstractExchange | None = None
        self._dlx: AbstractExchange | None = None
        self._subscriptions: list[_Subscription] = []
        # running handler tasks, with the message id and queue for the logs
        self._inflight: dict[asyncio.Task[Any], dict[str, str | None]] = {}
        self._closing = False
        self._draining = False

    def queue_arguments(self, queue: str) -> dict[str, Any]:
        """The arguments ``queue`` is declared with: quorum, delivery limit, dead-lettering."""
        return {
            "x-queue-type": "quorum",
            # a safety net: the consumer dead-letters at delivery_limit with the reason, the
            # broker only if consumers keep crashing before they can
            "x-delivery-limit": self._delivery_limit + 2,
            "x-dead-letter-exchange": self.topology.dead_letter_exchange,
            "x-dead-letter-routing-key": self.topology.queue(queue),
        }

    @staticmethod
    def dead_queue_arguments() -> dict[str, Any]:
        """The arguments a dead queue is declared with."""
        # classic, not quorum: listing dead letters requeues them, and a quorum queue counts
        # each requeue as a delivery (RabbitMQ 4 drops them after 20 by default)
        return {"x-queue-type": "classic"}

    async def start(self) -> None:
        """Connect (reconnecting on loss) and declare the exchanges."""
        if self._connection is not None and not self._closing:
            return
        self._closing = False
        self._draining = False
        # the name shows in the broker's connection list, so operators can tell replicas apart
        self._connection = await aio_pika.connect_robust(
            self._url,
            timeout=self._connect_timeout_s,
            client_properties={"connection_name": self._connection_name},
        )
        self._consumer_connection = await aio_pika.connect_robust(
            self._url,
            timeout=self._connect_timeout_s,
            client_properties={"connection_name": f"{self._connection_name}/consume"},
        )
        # on_return_raises: a mandatory publish (dead-lettering, replay) that no queue takes
        # must fail instead of being dropped
        self._channel = await self._connection.channel(
            publisher_confirms=True, on_return_raises=True
        )
        self._exchange = await self._channel.declare_exchange(
            self.topology.exchange, aio_pika.ExchangeType.TOPIC, durable=True
        )
        self._dlx = await self._channel.declare_exchange(
            self.topology.dead_letter_exchange, aio_pika.ExchangeType.DIRECT, durable=True
        )

    async def stop_consuming(self) -> None:
        """Cancel consumers and let in-flight handlers finish (up to the grace period).

        Publishing goes on, so the outbox relays can still flush what the handlers wrote.
        """
        self._draining = True
        for sub in self._subscriptions:
            with contextlib.suppress(Exception):
                await sub.amqp_queue.cancel(sub.tag)
        inflight = dict(self._inflight)
        if inflight:
            _, late = await asyncio.wait(inflight, timeout=self._shutdown_grace_s)
            for task in late:
                # unacknowledged, so the broker redelivers it once the channel closes
                log.warning("cancelling a handler still running at close", extra=inflight[task])
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)

    async def close(self) -> None:
        """Stop consuming (handlers finish), then disconnect."""
        await self.stop_consuming()
        self._closing = True
        for sub in self._subscriptions:
            with contextlib.suppress(Exception):
                await sub.channel.close()
        self._subscriptions.clear()
        for connection in (self._consumer_connection, self._connection):
            if connection is not None:
                with contextlib.suppress(Exception):
                    await connection.close()
        self._connection = self._consumer_connection = None
        self._channel = self._exchange = self._dlx = None

    async def is_ready(self) -> bool:
        """Whether both connections and the publishing channel are open."""
        return (
            not self._closing
            and self._connection is not None
            and not self._connection.is_closed
            and self._consumer_connection is not None
            and not self._consumer_connection.is_closed
            and self._channel is not None
            and not self._channel.is_closed
        )

    async def publish_encoded(self, messages: Sequence[Outgoing]) -> None:
        """Publish all at once; raises ``TransientError`` unless every one is confirmed."""
        self.refuse_unpublishable(messages)
        exchange = self._require(self._exchange).name
        try:
            channel = await self._require(self._channel).get_underlay_channel()
        except aiormq.exceptions.AMQPError as exc:
            raise TransientError(f"the publishing channel is not open: {exc!r}") from exc
        # aiormq directly: an aio_pika.Message per message costs more than the publish itself
        pending = [
            channel.basic_publish(
                m.body,
                exchange=exchange,
                routing_key=m.routing_key,
                properties=aiormq.spec.Basic.Properties(
                    content_type=CONTENT_TYPE,
                    delivery_mode=2,
                    message_id=m.message_id,
                    message_type=m.type,
                ),
            )
            for m in messages
        ]
        try:
            async with asyncio.timeout(self._publish_timeout_s):
                results = await asyncio.gather(*pending, return_exceptions=True)
        except TimeoutError as exc:
            raise TransientError(
                f"{len(messages)} messages not confirmed within {self._publish_timeout_s}s"
            ) from exc
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            raise TransientError(
                f"{len(failures)} of {len(messages)} messages not confirmed: "
                f"{error_reason(failures[0])}"
            ) from failures[0]

    async def subscribe(
        self,
        queue: str,
        patterns: Sequence[str],
        handler: Handler,
        *,
        prefetch: int | None = None,
    ) -> None:
        """Declare ``queue`` and its dead queue, bind ``patterns``, and consume on a new channel."""
        connection = self._require(self._consumer_connection)
        physical = self.topology.queue(queue)
        # a channel per subscription: QoS is per channel, and a channel error stays local
        channel = await connection.channel(publisher_confirms=False)
        try:
            await channel.set_qos(prefetch_count=prefetch or self._prefetch)
            dead = await channel.declare_queue(
                self.topology.dead_queue(queue),
                durable=True,
                arguments=self.dead_queue_arguments(),
            )
            await dead.bind(self.topology.dead_letter_exchange, routing_key=physical)
            amqp_queue = await channel.declare_queue(
                physical, durable=True, arguments=self.queue_arguments(queue)
            )
            for pattern in patterns:
                await amqp_queue.bind(self.topology.exchange, routing_key=pattern)
            sub = _Subscription(queue, physical, handler, channel, amqp_queue)
            sub.tag = await amqp_queue.consume(partial(self._on_message, sub))
        except BaseException:
            with contextlib.suppress(Exception):
                await channel.close()
            raise
        self._subscriptions.append(sub)

    async def dead_letters(self, queue: str, *, limit: int = 100) -> list[DeadLetter]:
        """Peek at up to ``limit`` dead letters: get them unacknowledged, then requeue them all."""
        connection = self._require(self._connection)
        channel = await connection.channel(publisher_confirms=False)
        held: list[AbstractIncomingMessage] = []
        try:
            dead = await _passive_queue(channel, self.topology.dead_queue(queue))
            while dead is not None and len(held) < limit:
                message = await dead.get(no_ack=False, fail=False)
                if message is None:
                    break
                held.append(message)
            letters = [_dead_letter(queue, m) for m in held]
            for message in held:
                await message.nack(requeue=True)
            return letters
        finally:
            with contextlib.suppress(Exception):
                await channel.close()

    async def replay_dead_letters(self, queue: str, *, limit: int = 100) -> int:
        """Move up to ``limit`` dead letters back to ``queue``; each is acked once confirmed."""
        connection = self._require(self._connection)
        default_exchange = self._require(self._channel).default_exchange
        physical = self.topology.queue(queue)
        channel = await connection.channel(publisher_confirms=False)
        try:
            dead = await _passive_queue(channel, self.topology.dead_queue(queue))
            held: list[AbstractIncomingMessage] = []
            while dead is not None and len(held) < limit:
                message = await dead.get(no_ack=False, fail=False)
                if message is None:
                    break
                held.append(message)
            results = await asyncio.gather(
                *(
                    self._confirm(default_exchange, _replayed(m), physical, mandatory=True)
                    for m in held
                ),
                return_exceptions=True,
            )
            failures: list[BaseException] = []
            for message, result in zip(held, results, strict=True):
                if isinstance(result, BaseException):
                    failures.append(result)
                    await message.nack(requeue=True)
                else:
                    await message.ack()
            if failures:
                raise TransientError(
                    f"replayed {len(held) - len(failures)} of {len(held)} dead letters of "
                    f"{queue}: {error_reason(failures[0])}"
                ) from failures[0]
            log.info("replayed %d dead letters", len(held), extra={"queue": queue})
            return len(held)
        finally:
            with contextlib.suppress(Exception):
                await channel.close()

    async def _confirm(
        self,
        exchange: AbstractExchange,
        message: aio_pika.Message,
        routing_key: str,
        *,
        mandatory: bool,
    ) -> None:
        async with asyncio.timeout(self._publish_timeout_s):
            await exchange.publish(message, routing_key, mandatory=mandatory)

    async def _on_message(self, sub: _Subscription, message: AbstractIncomingMessage) -> None:
        if self._closing or self._draining:
            # raced close(): left unacknowledged, the broker redelivers it to another consumer
            return
        extra = {"message_id": message.message_id, "queue": sub.queue}
        # aiormq runs this callback as a task of the channel and cancels it when the channel
        # closes, so a connection blip would kill a handler halfway (an action mid-run). The
        # handler runs in a task of the bus's own instead: it finishes its work, and only the
        # settling fails, leaving the delivery to be redelivered and recognised as done.
        task = asyncio.create_task(self._settle(sub, message, extra))
        self._inflight[task] = extra
        task.add_done_callback(self._forget)
        await asyncio.shield(task)

    def _forget(self, task: asyncio.Task[None]) -> None:
        self._inflight.pop(task, None)

    async def _settle(
        self, sub: _Subscription, message: AbstractIncomingMessage, extra: dict[str, str | None]
    ) -> None:
        try:
            await self._handle(sub, message)
        except Exception:
            # settling failed (connection lost, channel closed): the broker redelivers
            log.exception("could not settle a delivery", extra=extra)

    async def _handle(self, sub: _Subscription, message: AbstractIncomingMessage) -> None:
        headers = message.headers or {}
        # ours counts the retries we republished, the broker's the redeliveries after a
        # consumer vanished mid-handler (which we could not count)
        attempt = (
            1 + _as_int(headers.get(ATTEMPTS_HEADER)) + _as_int(headers.get("x-delivery-count"))
        )
        outcome = await dispatch(
            message.body,
            queue=sub.queue,
            attempt=attempt,
            handler=sub.handler,
            delivery_limit=self._delivery_limit,
            retry_delay_ms=self._retry_delay_ms,
            message_id=message.message_id,
        )
        if outcome.action == "ack":
            await message.ack()
        elif outcome.action == "retry":
            # the delay holds a prefetch slot; quorum queues have no per-message delay
            await asyncio.sleep(outcome.delay_s)
            await self._retry(sub, message, attempt)
        else:
            await self._dead_letter(sub, message, outcome.reason, attempt)

    async def _retry(
        self, sub: _Subscription, message: AbstractIncomingMessage, attempt: int
    ) -> None:
        """Put the message back with ``attempt`` counted: a confirmed copy, then the ack.

        Were the ack lost after the copy's confirm, both come back: at least once, and the
        inbox absorbs the second. Should the copy fail, a plain requeue keeps the message.
        """
        headers = {k: v for k, v in (message.headers or {}).items() if k not in _TRANSPORT_HEADERS}
        headers[ATTEMPTS_HEADER] = attempt
        try:
            await self._confirm(
                self._require(self._channel).default_exchange,
                _copy(message, headers),
                sub.physical,
                mandatory=True,
            )
        except Exception:
            log.warning(
                "could not requeue a counted copy; requeueing as is",
                exc_info=True,
                extra={"message_id": message.message_id, "queue": sub.queue},
            )
            await message.nack(requeue=True)
            return
        await message.ack()

    async def _dead_letter(
        self, sub: _Subscription, message: AbstractIncomingMessage, reason: str, attempt: int
    ) -> None:
        extra = {"message_id": message.message_id, "queue": sub.queue}
        try:
            await self._confirm(
                self._require(self._dlx),
                _buried(message, sub.queue, reason),
                sub.physical,
                mandatory=True,
            )
        except Exception:
            log.exception("could not dead-letter; requeueing", extra=extra)
            await asyncio.sleep(retry_delay(attempt, base_ms=self._retry_delay_ms))
            await message.nack(requeue=True)
            return
        await message.ack()
        log.info("dead-lettered after attempt %d: %s", attempt, reason, extra=extra)

    def _require(self, value: _T | None) -> _T:
        if value is None or self._closing:
            raise TransientError("the bus is not started")
        return value


async def _passive_queue(channel: AbstractRobustChannel, name: str) -> AbstractQueue | None:
    try:
        return await channel.get_queue(name, ensure=True)
    except ChannelNotFoundEntity:
        return None


def _buried(message: AbstractIncomingMessage, queue: str, reason: str) -> aio_pika.Message:
    headers = {k: v for k, v in (message.headers or {}).items() if k not in _TRANSPORT_HEADERS}
    headers[REASON_HEADER] = reason[:2000]
    headers[QUEUE_HEADER] = queue
    headers[DEAD_AT_HEADER] = datetime.now(UTC).isoformat()
    return _copy(message, headers)


def _replayed(message: AbstractIncomingMessage) -> aio_pika.Message:
    headers = {k: v for k, v in (message.headers or {}).items() if k not in _TRANSPORT_HEADERS}
    return _copy(message, headers)


def _copy(message: AbstractIncomingMessage, headers: dict[str, Any]) -> aio_pika.Message:
    return aio_pika.Message(
        body=message.body,
        headers=headers,
        content_type=message.content_type or CONTENT_TYPE,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        message_id=message.message_id,
        type=message.type,
        timestamp=message.timestamp,
    )


def _dead_letter(queue: str, message: AbstractIncomingMessage) -> DeadLetter:
    headers = message.headers or {}
    reason = _as_text(headers.get(REASON_HEADER))
    dead_at = _as_time(headers.get(DEAD_AT_HEADER))
    if reason is None:
        # dead-lettered by the broker itself (its delivery-limit safety net)
        reason = f"dead-lettered by the broker: {_as_text(headers.get('x-first-death-reason'))}"
        deaths = headers.get("x-death")
        if isinstance(deaths, list) and deaths and isinstance(deaths[0], dict):
            dead_at = _as_time(deaths[0].get("time"))
    return DeadLetter(
        queue=queue,
        message_id=message.message_id or "",
        type=message.type,
        reason=reason,
        body=message.body,
        dead_lettered_at=dead_at,
    )


def _as_int(value: object) -> int:
    return value if isinstance(value, int) else 0


def _as_text(value: object) -> str | None:
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return value if isinstance(value, str) else None


def _as_time(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    text = _as_text(value)
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None
