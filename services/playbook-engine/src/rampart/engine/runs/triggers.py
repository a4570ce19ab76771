"""What starts runs: ingested and updated events (through trigger jobs), and analysts by hand.

An event's message is noted with a trigger job in the handler's transaction; the job is
tried at once after the commit and, while ingest cannot answer, again later by the wake-up
loop, so an ingest outage delays the playbooks of an event instead of losing them.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from rampart.core.auth import Principal, Role
from rampart.core.consumers import AfterCommit, Queue
from rampart.core.deps import Conn
from rampart.core.envelope import Envelope
from rampart.core.errors import FieldError, ForbiddenError
from rampart.core.messages import EventIngested, EventUpdated
from rampart.core.workers import cancel_requested
from rampart.engine import events
from rampart.engine.clients import snapshot
from rampart.engine.config import SCHEMA
from rampart.engine.models import RunCreate, RunPublic
from rampart.engine.playbooks import audit, versions
from rampart.engine.playbooks.versions import PlaybookVersion
from rampart.engine.runs import attempts, store, timers
from rampart.engine.runs.replay import advance
from rampart.engine.sandbox.processes import ProcessDied, StepTimeout
from rampart.engine.sandbox.protocol import Match, Matched
from rampart.engine.state import Engine

log = logging.getLogger(__name__)

JOB_LEASE_S = 120

triggers = Queue("engine.triggers", prefetch=4)


class EventTrigger(BaseModel):
    """A new event: it starts the playbooks whose labels it carries."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["event"] = "event"
    message: EventIngested

    @property
    def event_id(self) -> UUID:
        """The event the trigger is about."""
        return self.message.event_id

    @property
    def announced(self) -> EventIngested | None:
        """What the message said of the event, used where ingest's answer is silent."""
        return self.message

    def candidates(self, found: list[PlaybookVersion]) -> list[PlaybookVersion]:
        """The playbooks this trigger may start, before their predicates."""
        return [p for p in found if p.labels_match(self.message.labels)]


class UpdateTrigger(BaseModel):
    """A changed event: it starts the playbooks that ask for updates, except the changer."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["update"] = "update"
    message: EventUpdated

    @property
    def event_id(self) -> UUID:
        """The event the trigger is about."""
        return self.message.event_id

    @property
    def announced(self) -> EventIngested | None:
        """An update says nothing of the event as a whole."""
        return None

    def candidates(self, found: list[PlaybookVersion]) -> list[PlaybookVersion]:
        """Only playbooks that ask for updates, and never the one that made the change."""
        by = self.message.updated_by or ""
        return [p for p in found if p.on_update and not by.startswith(f"playbook:{p.name}:")]


Trigger = Annotated[EventTrigger | UpdateTrigger, Field(discriminator="kind")]
_TRIGGER: TypeAdapter[Trigger] = TypeAdapter(Trigger)


@triggers.on(EventIngested)
async def on_event_ingested(
    conn: Conn, message: EventIngested, envelope: Envelope, engine: Engine, after: AfterCommit
) -> None:
    """Note the event, queue its trigger job, and try the job once the transaction commits."""
    await events.record_event(conn=conn, event=message)
    await _queue_job(conn=conn, envelope=envelope, trigger=EventTrigger(message=message))
    after.add(lambda: run_job(engine, envelope.id))


@triggers.on(EventUpdated)
async def on_event_updated(
    conn: Conn, message: EventUpdated, envelope: Envelope, engine: Engine, after: AfterCommit
) -> None:
    """Queue the update's trigger job, and try it once the transaction commits."""
    await _queue_job(conn=conn, envelope=envelope, trigger=UpdateTrigger(message=message))
    after.add(lambda: run_job(engine, envelope.id))


async def _queue_job(*, conn: Conn, envelope: Envelope, trigger: Trigger) -> None:
    await conn.execute(
        f"INSERT INTO {SCHEMA}.trigger_jobs (message_id, event_id, envelope, trigger) "
        "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        envelope.id,
        trigger.event_id,
        envelope.model_dump(mode="json"),
        trigger.model_dump(mode="json"),
    )


async def run_due_jobs(engine: Engine, *, limit: int = 20) -> int:
    """Run the trigger jobs whose time has come (retries after ingest failed); how many ran."""
    async with engine.pool.acquire() as conn:
        due = await conn.fetch(
            f"SELECT message_id FROM {SCHEMA}.trigger_jobs "
            "WHERE next_at <= now() AND failed_at IS NULL ORDER BY created_at LIMIT $1",
            limit,
        )
    for row in due:
        await run_job(engine, row["message_id"])
    return len(due)


async def run_job(engine: Engine, message_id: str) -> None:
    """Start the playbooks of one trigger job; on failure it waits and is tried again.

    A job that keeps failing on its data ends after ``timer_attempts`` failures, as a run
    timer does: it is marked failed with the reason (``GET /engine/events`` shows it) and is
    never tried again.
    """
    async with engine.pool.acquire() as conn:
        # a lease: another replica takes the job over only if this one dies with it
        job = await conn.fetchrow(
            f"UPDATE {SCHEMA}.trigger_jobs "
            f"SET next_at = now() + make_interval(secs => {JOB_LEASE_S}) "
            "WHERE message_id = $1 AND next_at <= now() AND failed_at IS NULL "
            "RETURNING envelope, trigger",
            message_id,
        )
    if job is None:
        return
    envelope = Envelope.model_validate(job["envelope"])
    trigger = _TRIGGER.validate_python(job["trigger"])
    try:
        event, matched = await _matching(engine, trigger)
        async with engine.pool.acquire() as conn, conn.transaction():
            started = []
            if await conn.fetchval(
                f"DELETE FROM {SCHEMA}.trigger_jobs WHERE message_id = $1 RETURNING 1", message_id
            ):
                started = await _create_runs(
                    conn=conn, envelope=envelope, trigger=trigger, event=event, matched=matched
                )
    except Exception as exc:
        await _defer(engine, message_id, trigger, exc)
        return
    for run_id in started:
        await _begin(engine, run_id, cause=envelope)


async def _defer(engine: Engine, message_id: str, trigger: Trigger, error: Exception) -> None:
    """Count the job's failure and try it later; at the limit, end it (in one statement)."""
    why = attempts.reason(error)
    async with engine.pool.acquire() as conn:
        job = await conn.fetchrow(
            f"UPDATE {SCHEMA}.trigger_jobs SET attempts = attempts + $2, last_error = $3, "
            f"next_at = now() + {attempts.BACKOFF_SQL.format(retry='$4', cap='$5')}, "
            "failed_at = CASE WHEN attempts + $2 >= $6 THEN now() END "
            "WHERE message_id = $1 RETURNING attempts, failed_at",
            message_id,
            1 if attempts.counts(error) else 0,
            why,
            engine.config.timer_retry_s,
            attempts.RETRY_CAP_S,
            engine.config.timer_attempts,
        )
    if job is not None and job["failed_at"] is not None:
        log.error(
            "the playbooks of event %s (message %s) are not started: the engine failed %s "
            "times, and gives up: %s",
            trigger.event_id,
            message_id,
            job["attempts"],
            why,
        )
        return
    log.warning(
        "starting the playbooks of event %s failed (attempt %s); tried again later: %s",
        trigger.event_id,
        None if job is None else job["attempts"],
        why,
    )


async def _begin(engine: Engine, run_id: UUID, *, cause: Envelope) -> None:
    """Run a new run's first pass now, in a transaction of its own.

    Each run of an event begins on its own: should this pass fail, its ``start`` timer stays
    and the wake-up loop tries it again later, while the event's other runs go on.
    """
    try:
        async with engine.pool.acquire() as conn, conn.transaction():
            timer = await conn.fetchval(
                f"SELECT id FROM {SCHEMA}.run_timers WHERE run_id = $1 AND kind = 'start' "
                "FOR UPDATE SKIP LOCKED",
                run_id,
            )
            if timer is None:
                return  # the wake-up loop took it first
            await conn.execute(f"DELETE FROM {SCHEMA}.run_timers WHERE id = $1", timer)
            await advance(conn=conn, engine=engine, run_id=run_id, cause=cause)
    except Exception as exc:
        if cancel_requested():
            raise
        log.warning("beginning run %s failed; its start timer tries again: %s", run_id, exc)


async def matches(engine: Engine, version: PlaybookVersion, event: dict[str, Any]) -> bool:
    """Run a playbook's predicate on ``event``; an error or a timeout counts as no match."""
    request = Match(digest=version.digest, filename=version.filename, event=event)
    try:
        reply = await engine.processes.request(
            request,
            budget_s=min(engine.config.predicate_timeout_s, version.budget.step_seconds),
            source=(version.digest, version.source),
        )
    except (StepTimeout, ProcessDied) as exc:
        reply = Matched(matched=False, error=str(exc))
    match reply:
        case Matched(error=None):
            return reply.matched
        case Matched(error=error):
            pass
        case _:
            error = f"the playbook process answered {reply.op!r}"
    log.warning(
        "predicate of playbook %s v%d failed, treated as no match: %s",
        version.name,
        version.version,
        error,
        extra={"event_id": event.get("id")},
    )
    return False


async def _matching(
    engine: Engine, trigger: Trigger
) -> tuple[dict[str, Any], list[PlaybookVersion]]:
    """The event and the playbooks it starts, in priority order; read outside any transaction."""
    async with engine.pool.acquire() as conn:
        candidates = trigger.candidates(await versions.newest_all(conn=conn, active_only=True))
    if not candidates:
        return {}, []
    event = snapshot(await engine.events.fetch(trigger.event_id), trigger.announced)
    if not event:
        return {}, []
    matched = []
    for candidate in candidates:
        if candidate.labels_match(event["labels"]) and (
            not candidate.has_predicate or await matches(engine, candidate, event)
        ):
            matched.append(candidate)
    return event, matched


async def _create_runs(
    *,
    conn: Conn,
    envelope: Envelope,
    trigger: Trigger,
    event: dict[str, Any],
    matched: list[PlaybookVersion],
) -> list[UUID]:
    """The matched playbooks' runs, each with a ``start`` timer due now, in priority order."""
    created = []
    for version in matched:
        run_id = await store.create_run(
            conn=conn,
            version=version,
            event=event,
            trigger=trigger.kind,
            trigger_ref=envelope.id,
            requested_by=f"trigger:{envelope.type}",
        )
        if run_id is not None:
            await timers.add(conn=conn, run_id=run_id, kind="start", due_at=datetime.now(UTC))
            created.append(run_id)
    return created


async def request_run(*, engine: Engine, body: RunCreate, who: Principal) -> RunPublic:
    """Start a playbook on an event by hand; the run begins on the next timer round.

    A deactivated playbook or a version older than the newest runs only for an administrator,
    and such a run is recorded in the playbook audit trail.
    """
    async with engine.pool.acquire() as conn:
        newest = await versions.latest(conn=conn, name=body.playbook)
        if body.version is None:
            version = newest
        else:
            version = await versions.get(conn=conn, name=body.playbook, version=body.version)
    if version is None or newest is None:
        field = "playbook" if body.version is None else "version"
        raise FieldError(field, f"no playbook {body.playbook!r} of that version")
    reasons = []
    if not version.active:
        reasons.append("deactivated")
    if version.version != newest.version:
        reasons.append(f"pinned v{version.version} (newest v{newest.version})")
    if reasons and who.role is not Role.ADMIN:
        raise ForbiddenError(
            f"only an administrator may run {' and '.join(reasons)} playbook {version.name!r}"
        )
    fetched = await engine.events.fetch(body.event_id)
    if fetched is None:
        raise FieldError("event_id", f"no event {body.event_id}")
    async with engine.pool.acquire() as conn, conn.transaction():
        run_id = await store.create_run(
            conn=conn,
            version=version,
            event=snapshot(fetched, None),
            trigger="manual",
            trigger_ref=None,
            requested_by=audit.actor_of(who),
        )
        assert run_id is not None
        if reasons:
            await audit.record(
                conn=conn,
                who=who,
                action="run",
                outcome="started",
                playbook=version.name,
                version=version.version,
                detail=f"{', '.join(reasons)}; run {run_id}",
            )
        await timers.add(conn=conn, run_id=run_id, kind="start", due_at=datetime.now(UTC))
        found = await store.get_public(conn=conn, run_id=run_id)
    assert found is not None
    return found
