"""SLA timers as the approvals service keeps them: started, stopped and fired from bus messages.

Each case runs the real approvals service (its spec through the platform's lifespan) on the
in-process bus and on RabbitMQ, and publishes the messages other services would publish.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from rampart.approvals.spec import SPEC
from rampart.approvals.timers import SCHEMA
from rampart.core.bus import Bus
from rampart.core.envelope import Envelope
from rampart.core.messages import (
    EventClosed,
    EventIngested,
    Message,
    PhaseCompleted,
    PhaseStarted,
    SlaBreached,
    TaskCompleted,
    TaskCreated,
)
from tests.harness import Captured, StartServices, eventually


@dataclass
class Running:
    bus: Bus
    pool: Any
    captured: Captured

    @property
    def breaches(self) -> list[SlaBreached]:
        return self.captured.of(SlaBreached)

    async def send(self, message: Message) -> Envelope:
        envelope = Envelope.wrap(message, source="rampart/test")
        await self.bus.publish([envelope])
        return envelope


async def _eventually(check: Callable[[], Any]) -> Any:
    return await eventually(check)


@pytest.fixture
async def approvals(start_services: StartServices, fresh_database: str) -> AsyncIterator[Running]:
    """The approvals service alone, on the test's bus and a database of the case's own."""
    async with start_services([SPEC], database_url=fresh_database) as services:
        captured = await services.capture("sla.breached")
        yield Running(services.bus, services.pool, captured)


def _ingested(event_id: UUID, due_at: datetime | None) -> EventIngested:
    return EventIngested(
        event_id=event_id, source="splunk", name="malware on web-01", severity="high",
        due_at=due_at,
    )  # fmt: skip


async def _timer(pool: Any, subject_id: UUID) -> Any:
    async with pool.acquire() as conn:
        return await conn.fetchrow(
            f"SELECT status, due_at, fired_at FROM {SCHEMA}.sla_timers WHERE subject_id = $1",
            subject_id,
        )


async def test_an_ingested_event_with_a_due_time_starts_its_timer(approvals: Running) -> None:
    event_id = uuid4()
    due = datetime.now(UTC) + timedelta(hours=4)
    await approvals.send(_ingested(event_id, due))
    timer = await _eventually(lambda: _timer(approvals.pool, event_id))
    assert timer["status"] == "pending"
    assert timer["due_at"] == due


async def test_closing_the_event_cancels_its_timer(approvals: Running) -> None:
    event_id = uuid4()
    await approvals.send(_ingested(event_id, datetime.now(UTC) + timedelta(hours=4)))
    await _eventually(lambda: _timer(approvals.pool, event_id))
    closed = EventClosed(
        event_id=event_id, resolution="contained", closed_at=datetime.now(UTC), closed_by="ana"
    )
    await approvals.send(closed)

    async def cancelled() -> bool:
        timer = await _timer(approvals.pool, event_id)
        return timer["status"] == "cancelled"

    await _eventually(cancelled)


async def test_a_due_timer_fires_once_and_announces_the_breach(approvals: Running) -> None:
    event_id = uuid4()
    due = datetime.now(UTC) - timedelta(seconds=1)
    await approvals.send(_ingested(event_id, due))

    async def announced() -> list[SlaBreached]:
        return [b for b in approvals.breaches if b.subject_id == event_id]

    breaches = await _eventually(announced)
    timer = await _timer(approvals.pool, event_id)
    assert timer["status"] == "breached"
    assert breaches[0].due_at == due
    assert breaches[0].breached_at == timer["fired_at"]
    # the same event ingested again (a duplicate from the source) neither restarts nor re-fires it
    again = await approvals.send(_ingested(event_id, due))
    await _eventually(lambda: _handled(approvals.pool, again))
    # a timer due now fires on a later round of the loop than the duplicate's handling
    marker = uuid4()
    await approvals.send(_ingested(marker, due))
    await _eventually(lambda: announced_for(approvals, marker))
    assert len(await announced()) == 1
    assert (await _timer(approvals.pool, event_id))["status"] == "breached"


async def announced_for(approvals: Running, subject_id: UUID) -> bool:
    return any(b.subject_id == subject_id for b in approvals.breaches)


async def _handled(pool: Any, envelope: Envelope) -> bool:
    async with pool.acquire() as conn:
        return bool(
            await conn.fetchval(
                f"SELECT true FROM {SCHEMA}.inbox WHERE message_id = $1", envelope.id
            )
        )


async def test_an_event_without_a_due_time_starts_no_timer(approvals: Running) -> None:
    event_id = uuid4()
    envelope = await approvals.send(_ingested(event_id, None))
    await _eventually(lambda: _handled(approvals.pool, envelope))
    assert await _timer(approvals.pool, event_id) is None


# Each subject kind's start and stop messages, as ingest publishes them.
Kind = str


def _start(kind: Kind, subject_id: UUID, event_id: UUID, due_at: datetime) -> Message:
    if kind == "event":
        return _ingested(subject_id, due_at)
    if kind == "task":
        return TaskCreated(
            event_id=event_id, task_id=subject_id, phase="Containment", name="isolate",
            due_at=due_at,
        )  # fmt: skip
    return PhaseStarted(
        event_id=event_id, phase_id=subject_id, name="Containment", owner="soc-team",
        started_at=datetime.now(UTC), due_at=due_at,
    )  # fmt: skip


def _stop(kind: Kind, subject_id: UUID, event_id: UUID) -> Message:
    now = datetime.now(UTC)
    if kind == "event":
        return EventClosed(event_id=subject_id, resolution="contained", closed_at=now)
    if kind == "task":
        return TaskCompleted(event_id=event_id, task_id=subject_id, note="done", completed_at=now)
    return PhaseCompleted(event_id=event_id, phase_id=subject_id, completed_at=now)


KINDS = pytest.mark.parametrize("kind", ["event", "task", "phase"])


async def _sent_and_handled(approvals: Running, message: Message) -> None:
    envelope = await approvals.send(message)
    await _eventually(lambda: _handled(approvals.pool, envelope))


async def _no_breach_after_a_marker(approvals: Running, *subject_ids: UUID) -> None:
    """Wait for a timer due now to fire, then check none of ``subject_ids`` ever did."""
    marker = uuid4()
    await approvals.send(_ingested(marker, datetime.now(UTC) - timedelta(seconds=1)))
    await _eventually(lambda: announced_for(approvals, marker))
    assert [s for s in subject_ids if await announced_for(approvals, s)] == []


@KINDS
async def test_start_and_stop_are_right_in_either_order_and_a_duplicate_start_changes_nothing(
    approvals: Running, kind: Kind
) -> None:
    event_id = uuid4()
    past = datetime.now(UTC) - timedelta(seconds=1)
    later = datetime.now(UTC) + timedelta(hours=1)

    # the stop arrives first; the start comes late and already due: were it started, it fires
    stopped_first = uuid4()
    await _sent_and_handled(approvals, _stop(kind, stopped_first, event_id))
    await _sent_and_handled(approvals, _start(kind, stopped_first, event_id, past))
    timer = await _timer(approvals.pool, stopped_first)
    assert (timer["status"], timer["due_at"]) == ("cancelled", past)

    # in order: started, then stopped
    in_order = uuid4()
    await _sent_and_handled(approvals, _start(kind, in_order, event_id, later))
    assert (await _timer(approvals.pool, in_order))["status"] == "pending"
    await _sent_and_handled(approvals, _stop(kind, in_order, event_id))
    timer = await _timer(approvals.pool, in_order)
    assert (timer["status"], timer["due_at"]) == ("cancelled", later)

    # a second announcement of a running subject (another message id, another due time)
    duplicated = uuid4()
    await _sent_and_handled(approvals, _start(kind, duplicated, event_id, later))
    before = await _started(approvals.pool, duplicated)
    again = _start(kind, duplicated, event_id, later + timedelta(hours=3))
    await _sent_and_handled(approvals, again)
    assert await _started(approvals.pool, duplicated) == before
    # nor does a duplicate start a stopped clock again
    await _sent_and_handled(approvals, _start(kind, in_order, event_id, past))
    assert (await _timer(approvals.pool, in_order))["status"] == "cancelled"

    await _no_breach_after_a_marker(approvals, stopped_first, in_order)
    assert (await _timer(approvals.pool, duplicated))["status"] == "pending"


async def _started(pool: Any, subject_id: UUID) -> Any:
    async with pool.acquire() as conn:
        row = await conn.fetchrow(
            f"SELECT status, started_at, due_at, warn_at FROM {SCHEMA}.sla_timers "
            "WHERE subject_id = $1",
            subject_id,
        )
    return dict(row)


async def test_a_due_phase_breaches_and_is_announced(approvals: Running) -> None:
    phase_id, event_id = uuid4(), uuid4()
    due = datetime.now(UTC) - timedelta(seconds=1)
    await approvals.send(_start("phase", phase_id, event_id, due))
    [breach] = await _eventually(
        lambda: [b for b in approvals.breaches if b.subject_id == phase_id]
    )
    assert (breach.subject_kind, breach.event_id, breach.due_at) == ("phase", event_id, due)
    assert (await _timer(approvals.pool, phase_id))["status"] == "breached"
