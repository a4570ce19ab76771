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
from rampart.core.messages import EventClosed, EventIngested, Message, SlaBreached
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
