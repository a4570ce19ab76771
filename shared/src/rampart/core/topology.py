"""The installation's topology: every queue Rampart consumes, and the messages bound to it.

One contract for every process. Each process declares all of it before any outbox relay
publishes, so a message for a service that is not running yet waits in that service's queue
instead of reaching nobody, and a message the bus cannot route although a queue here is bound
to it is a publish failure, not a silent drop. A service's ``Queue`` must take exactly the
messages its entry here names; ``check_queues`` refuses a start where they drifted apart.
A queue outside the contract (an extension's, a test's) is declared as its ``Queue`` says.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rampart.core.consumers import Queue
from rampart.core.messages import (
    ActionCompleted,
    ActionDispatched,
    ActionRequested,
    ApprovalDecided,
    ApprovalRequested,
    EventChangeRequested,
    EventClosed,
    EventIngested,
    EventUpdated,
    Message,
    PhaseCompleted,
    PhaseStarted,
    SlaBreached,
    TaskCompleted,
    TaskCreated,
    routing_key,
)

CONNECTOR_QUEUE_PREFIX = "connector."


@dataclass(frozen=True, slots=True)
class QueueContract:
    """One durable queue: its name, the service that consumes it and what it is bound to."""

    name: str
    service: str
    models: tuple[type[Message], ...]
    topic: str | None = None

    @property
    def patterns(self) -> tuple[str, ...]:
        """The routing keys bound to the queue, as ``Queue.patterns`` computes them."""
        suffix = "" if self.topic is None else f".{self.topic}"
        return tuple(sorted({routing_key(m.message_type) + suffix for m in self.models}))


SERVICE_QUEUES: tuple[QueueContract, ...] = (
    QueueContract("ingest.sla", "ingest", (SlaBreached,)),
    QueueContract("ingest.changes", "ingest", (EventChangeRequested,)),
    QueueContract("engine.triggers", "playbook-engine", (EventIngested, EventUpdated)),
    QueueContract("engine.results", "playbook-engine", (ActionCompleted,)),
    QueueContract("broker.requests", "action-broker", (ActionRequested, ApprovalDecided)),
    QueueContract(
        "approvals.sla",
        "approvals",
        (
            EventIngested,
            EventUpdated,
            EventClosed,
            TaskCreated,
            TaskCompleted,
            PhaseStarted,
            PhaseCompleted,
        ),
    ),
    QueueContract("approvals.requests", "approvals", (ApprovalRequested,)),
)
"""The queues of the five services."""


def connector_queue(connector: str) -> QueueContract:
    """The queue of one connector's work: ``action.dispatched`` with its name as topic."""
    return QueueContract(
        f"{CONNECTOR_QUEUE_PREFIX}{connector}", "action-broker", (ActionDispatched,), connector
    )


def installation_queues(connectors: Iterable[str] | None = None) -> tuple[QueueContract, ...]:
    """Every queue of the installation: the services' and one per connector.

    ``connectors`` defaults to every installed one (the ``rampart.connectors`` entry points).
    """
    if connectors is None:
        from rampart.core.connectors import discover_connectors

        connectors = [c.name for c in discover_connectors()]
    return (*SERVICE_QUEUES, *(connector_queue(name) for name in sorted(set(connectors))))


def check_queues(queues: Sequence[Queue]) -> None:
    """Raise if one of ``queues`` is in the contract but binds other messages than it says."""
    known = {q.name: q for q in SERVICE_QUEUES}
    for queue in queues:
        if queue.name.startswith(CONNECTOR_QUEUE_PREFIX):
            contract = connector_queue(queue.name.removeprefix(CONNECTOR_QUEUE_PREFIX))
        elif queue.name in known:
            contract = known[queue.name]
        else:
            continue
        if tuple(queue.patterns) != contract.patterns:
            raise RuntimeError(
                f"queue {queue.name} binds {list(queue.patterns)}, "
                f"rampart.core.topology says {list(contract.patterns)}"
            )


def declared_queues(queues: Sequence[Queue]) -> tuple[QueueContract, ...]:
    """What a process running ``queues`` declares: the whole installation, the connector
    queues it runs, and any queue of its own outside the contract (an extension's) as it is."""
    check_queues(queues)
    everything = {q.name: q for q in installation_queues()}
    for queue in queues:
        if queue.name not in everything:
            everything[queue.name] = QueueContract(queue.name, "", tuple(queue.models), queue.topic)
    return tuple(everything.values())
