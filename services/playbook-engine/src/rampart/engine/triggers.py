"""The engine's consumers: events start matching playbooks; action results advance runs."""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from rampart.core.bus import Delivery, Handler
from rampart.core.envelope import Envelope
from rampart.core.inbox import first_delivery
from rampart.core.messages import ActionCompleted, EventIngested, EventUpdated, message_model
from rampart.core.runtime import Resources
from rampart.engine import advance, service, versions
from rampart.engine.clients import snapshot
from rampart.engine.engine import Engine, EngineRuntime
from rampart.engine.versions import SCHEMA, PlaybookVersion

log = logging.getLogger(__name__)

TRIGGERS_QUEUE = "engine.triggers"
JOB_LEASE_S = 120
JOB_RETRY_CAP_S = 60
RESULTS_QUEUE = "engine.results"


def trigger_handler(runtime: EngineRuntime) -> Any:
    """A handler factory for ``event.ingested`` and ``event.updated``."""

    def factory(resources: Resources) -> Handler:
        async def handle(delivery: Delivery) -> None:
            await on_event(runtime.engine(resources), delivery)

        return handle

    return factory


def result_handler(runtime: EngineRuntime) -> Any:
    """A handler factory for ``action.completed``."""

    def factory(resources: Resources) -> Handler:
        async def handle(delivery: Delivery) -> None:
            engine = runtime.engine(resources)
            await engine.wait_ready()
            async with engine.pool.acquire() as conn, conn.transaction():
                if await first_delivery(
                    conn=conn,
                    schema=SCHEMA,
                    consumer=RESULTS_QUEUE,
                    message_id=delivery.envelope.id,
                ):
                    await on_action_completed(conn=conn, engine=engine, delivery=delivery)

        return handle

    return factory


def _candidates(found: list[PlaybookVersion], message: Any) -> list[PlaybookVersion]:
    if isinstance(message, EventIngested):
        return [p for p in found if p.labels_match(message.labels)]
    # an update starts only playbooks that ask for it, and never the one that made the change
    by = message.updated_by or ""
    return [p for p in found if p.on_update and not by.startswith(f"playbook:{p.name}:")]


async def on_event(engine: Engine, delivery: Delivery) -> None:
    """Note the event and queue its trigger job in one transaction, then try the job at once."""
    message = delivery.message
    if not isinstance(message, EventIngested | EventUpdated):
        return
    await engine.wait_ready()
    async with engine.pool.acquire() as conn, conn.transaction():
        if not await first_delivery(
            conn=conn, schema=SCHEMA, consumer=TRIGGERS_QUEUE, message_id=delivery.envelope.id
        ):
            return
        if isinstance(message, EventIngested):
            await service.record_event(conn=conn, event=message)
        await conn.execute(
            f"INSERT INTO {SCHEMA}.trigger_jobs (message_id, event_id, envelope) "
            "VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            delivery.envelope.id,
            message.event_id,
            delivery.envelope.model_dump(mode="json"),
        )
    await run_job(engine, delivery.envelope.id)


async def run_due_jobs(engine: Engine, *, limit: int = 20) -> int:
    """Run the trigger jobs whose time has come (retries after ingest failed); how many ran."""
    async with engine.pool.acquire() as conn:
        due = await conn.fetch(
            f"SELECT message_id FROM {SCHEMA}.trigger_jobs WHERE next_at <= now() "
            "ORDER BY created_at LIMIT $1",
            limit,
        )
    for row in due:
        await run_job(engine, row["message_id"])
    return len(due)


async def run_job(engine: Engine, message_id: str) -> None:
    """Start the playbooks of one trigger job; on failure it waits and is tried again."""
    async with engine.pool.acquire() as conn:
        # a lease: another replica takes the job over only if this one dies with it
        job = await conn.fetchrow(
            f"UPDATE {SCHEMA}.trigger_jobs SET attempts = attempts + 1, "
            f"next_at = now() + make_interval(secs => {JOB_LEASE_S}) "
            "WHERE message_id = $1 AND next_at <= now() RETURNING envelope, attempts",
            message_id,
        )
    if job is None:
        return
    envelope = Envelope.model_validate(job["envelope"])
    message = message_model(envelope.type).model_validate(envelope.data)
    assert isinstance(message, EventIngested | EventUpdated)
    try:
        event, matched = await _matching(engine, message)
        async with engine.pool.acquire() as conn, conn.transaction():
            if await conn.fetchval(
                f"DELETE FROM {SCHEMA}.trigger_jobs WHERE message_id = $1 RETURNING 1", message_id
            ):
                await _start_runs(conn, engine, envelope, message, event, matched)
    except Exception as exc:
        delay = min(JOB_RETRY_CAP_S, 2 ** min(job["attempts"], 10))
        log.warning(
            "starting the playbooks of event %s failed, retrying in %ss: %s",
            message.event_id,
            delay,
            exc,
        )
        async with engine.pool.acquire() as conn:
            await conn.execute(
                f"UPDATE {SCHEMA}.trigger_jobs SET next_at = now() + make_interval(secs => $2), "
                "last_error = $3 WHERE message_id = $1",
                message_id,
                float(delay),
                str(exc)[:2000],
            )


async def _matching(
    engine: Engine, message: EventIngested | EventUpdated
) -> tuple[dict[str, Any], list[PlaybookVersion]]:
    """The event and the playbooks it starts, in priority order; read outside any transaction."""
    async with engine.pool.acquire() as conn:
        candidates = _candidates(await versions.newest_all(conn=conn, active_only=True), message)
    if not candidates:
        return {}, []
    ingested = message if isinstance(message, EventIngested) else None
    event = snapshot(await engine.events.fetch(message.event_id), ingested)
    if not event:
        return {}, []
    matched = []
    for candidate in candidates:
        if candidate.labels_match(event["labels"]) and (
            not candidate.has_predicate or await engine.matches(candidate, event)
        ):
            matched.append(candidate)
    return event, matched


async def _start_runs(
    conn: Any,
    engine: Engine,
    envelope: Envelope,
    message: EventIngested | EventUpdated,
    event: dict[str, Any],
    matched: list[PlaybookVersion],
) -> None:
    for version in matched:
        run_id = await advance.create_run(
            conn=conn,
            version=version,
            event=event,
            trigger="event" if isinstance(message, EventIngested) else "update",
            trigger_ref=envelope.id,
            requested_by=f"trigger:{envelope.type}",
        )
        if run_id is not None:
            await advance.advance(conn=conn, engine=engine, run_id=run_id, cause=envelope)


def parse_request_key(key: str) -> tuple[UUID, int] | None:
    """(run id, step) from an ``action.requested`` key the engine made; None if not one."""
    run, _, seq = key.rpartition(":")
    try:
        return UUID(run), int(seq)
    except ValueError:
        return None


async def on_action_completed(*, conn: Any, engine: Engine, delivery: Delivery) -> None:
    """Record an action's result at its step and advance the run."""
    message = delivery.message_as(ActionCompleted)
    parsed = parse_request_key(message.request_key)
    if parsed is None:
        return  # not requested by a playbook run
    run_id, seq = parsed
    result = {
        "status": message.status,
        "message": message.message,
        "results": [r.model_dump(mode="json") for r in message.results],
    }
    await advance.advance(
        conn=conn,
        engine=engine,
        run_id=run_id,
        result=(seq, result),
        kind="act",
        cause=delivery.envelope,
    )
