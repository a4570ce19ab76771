"""Typed message handlers: a queue declares one handler per message model.

```python
changes = Queue("ingest.changes")

@changes.on(EventChangeRequested)
async def apply_change(conn: Conn, message: EventChangeRequested, envelope: Envelope) -> None:
    ...
```

A handler names what it needs by annotation, and the platform passes it in:

| annotation | what the handler gets |
|---|---|
| the message model | the validated message |
| ``Conn`` (``Connection``) | the connection of the handler's transaction |
| ``Envelope`` | the CloudEvents envelope (id, correlation, subject) |
| ``Delivery`` | the whole delivery (queue, attempt) |
| ``AfterCommit`` | where to add work that runs once the transaction committed |
| ``Pool`` | the service's pool (handlers declared with ``transaction=False``) |
| ``Resources`` | the platform's resources |
| the service's state class | the service's running state (``ServiceSpec.state``) |

The queue is bound to the routing keys of its handlers' models. By default a handler runs
inside one transaction with the queue's inbox row, so a redelivered message changes nothing
and the delivery is acknowledged only after the commit. A message whose type has no handler
on the queue is dead-lettered with that reason, never acknowledged silently.
"""

from __future__ import annotations

import inspect
import logging
import typing
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from rampart.core.bus import Delivery, Handler
from rampart.core.envelope import Envelope
from rampart.core.errors import DomainError, InvalidMessage, PermanentError, TransientError
from rampart.core.inbox import first_delivery
from rampart.core.messages import Message, routing_key
from rampart.core.store import Connection, Pool

log = logging.getLogger(__name__)

M = TypeVar("M", bound=Message)
F = TypeVar("F", bound=Callable[..., Awaitable[None]])


class AfterCommit:
    """Work a handler schedules for after its transaction commits (never if it rolls back)."""

    def __init__(self) -> None:
        self._work: list[Callable[[], Awaitable[object]]] = []

    def add(self, work: Callable[[], Awaitable[object]]) -> None:
        """Run ``work`` once the handler's transaction has committed."""
        self._work.append(work)

    async def run(self) -> None:
        """Run the scheduled work in order; a failure is logged, the message stays handled."""
        for work in self._work:
            try:
                await work()
            except Exception:
                log.exception("work after commit failed; the message stays handled")


@dataclass(frozen=True, slots=True)
class _Route:
    model: type[Message]
    handler: Callable[..., Awaitable[None]]
    transaction: bool


@dataclass(frozen=True, slots=True)
class HandlerContext:
    """What a bound queue hands its handlers: the platform's resources and the service's state."""

    schema: str
    pool: Pool
    resources: object
    state: object


_Provider = Callable[["_Call"], object]


@dataclass(slots=True)
class _Call:
    delivery: Delivery
    context: HandlerContext
    conn: Connection | None
    after_commit: AfterCommit


def _conn(call: _Call) -> object:
    if call.conn is None:
        raise TypeError("a handler declared with transaction=False gets no connection")
    return call.conn


_FIXED: dict[object, _Provider] = {
    Connection: _conn,
    Envelope: lambda call: call.delivery.envelope,
    Delivery: lambda call: call.delivery,
    AfterCommit: lambda call: call.after_commit,
    Pool: lambda call: call.context.pool,
}


class Queue:
    """A durable queue a service consumes, with one typed handler per message model."""

    def __init__(self, name: str, *, prefetch: int | None = None, topic: str | None = None) -> None:
        self.name = name
        self.prefetch = prefetch
        self.topic = topic
        self._routes: dict[type[Message], _Route] = {}

    def on(self, model: type[M], *, transaction: bool = True) -> Callable[[F], F]:
        """Declare ``handler`` for ``model``; ``transaction=False`` leaves transactions to it."""
        if model in self._routes:
            raise ValueError(f"{self.name} already has a handler for {model.message_type}")

        def register(handler: F) -> F:
            self._routes[model] = _Route(model, handler, transaction)
            return handler

        return register

    @property
    def patterns(self) -> tuple[str, ...]:
        """The routing keys the queue is bound to: one per handled message type.

        A queue with a ``topic`` takes only messages published with that topic
        (``<key>.<topic>``), e.g. the work of one connector.
        """
        suffix = "" if self.topic is None else f".{self.topic}"
        return tuple(sorted({routing_key(m.message_type) + suffix for m in self._routes}))

    @property
    def models(self) -> tuple[type[Message], ...]:
        """The message models this queue has handlers for."""
        return tuple(self._routes)

    def bind(self, context: HandlerContext) -> Handler:
        """The bus handler for this queue in one running service; checks every signature."""
        if not self._routes:
            raise ValueError(f"queue {self.name} has no handlers")
        prepared = {
            model: (route, _providers(route, context)) for model, route in self._routes.items()
        }
        queue = self.name

        async def handle(delivery: Delivery) -> None:
            found = prepared.get(type(delivery.message))
            if found is None:
                raise InvalidMessage(f"{queue} has no handler for {delivery.envelope.type}")
            route, providers = found
            after = AfterCommit()
            try:
                if not route.transaction:
                    await _invoke(route, providers, _Call(delivery, context, None, after))
                else:
                    async with context.pool.acquire() as conn, conn.transaction():
                        if not await first_delivery(
                            conn=conn,
                            schema=context.schema,
                            consumer=queue,
                            message_id=delivery.envelope.id,
                        ):
                            return
                        await _invoke(route, providers, _Call(delivery, context, conn, after))
            except TransientError:
                raise  # UnavailableError among them: another service is down, not the message bad
            except DomainError as exc:
                # the service refused the message's content: the same message would be refused again
                raise PermanentError(f"{type(exc).__name__}: {exc.detail}") from exc
            await after.run()

        return handle


async def _invoke(route: _Route, providers: dict[str, _Provider], call: _Call) -> None:
    await route.handler(**{name: provide(call) for name, provide in providers.items()})


def _providers(route: _Route, context: HandlerContext) -> dict[str, _Provider]:
    """How to fill each parameter of ``route``'s handler, from its annotations."""
    handler = route.handler
    where = f"{handler.__module__}.{handler.__qualname__}"
    try:
        hints = typing.get_type_hints(handler)
    except NameError as exc:
        raise TypeError(f"{where}: an annotation does not resolve: {exc}") from None
    providers: dict[str, _Provider] = {}
    for name in inspect.signature(handler).parameters:
        hint = hints.get(name)
        if hint is None:
            raise TypeError(f"{where}: parameter {name!r} needs an annotation")
        providers[name] = _provider(hint, route, context, where, name)
    return providers


def _provider(
    hint: Any, route: _Route, context: HandlerContext, where: str, name: str
) -> _Provider:
    if hint in _FIXED:
        if hint is Connection and not route.transaction:
            raise TypeError(f"{where}: {name!r} asks for a connection but transaction=False")
        return _FIXED[hint]
    if isinstance(hint, type) and issubclass(hint, Message):
        if not issubclass(route.model, hint):
            raise TypeError(
                f"{where}: {name!r} is {hint.__name__}, the handler takes {route.model.__name__}"
            )
        return lambda call: call.delivery.message
    if isinstance(hint, type) and isinstance(context.resources, hint):
        return lambda call: call.context.resources
    if isinstance(hint, type) and isinstance(context.state, hint):
        return lambda call: call.context.state
    raise TypeError(f"{where}: nothing provides parameter {name!r} of type {hint!r}")
