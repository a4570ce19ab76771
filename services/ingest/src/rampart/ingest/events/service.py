"""Reading events, and changing them as analysts and playbooks ask, with the messages that says."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from rampart.core.deps import Conn
from rampart.core.envelope import Envelope
from rampart.core.errors import ConflictError, FieldError, NotFoundError
from rampart.core.ids import uuid7
from rampart.core.messages import EventClosed, EventUpdated, Message, TaskCompleted, TaskCreated
from rampart.core.outbox import Publisher
from rampart.core.store import Record, affected_rows, set_clause
from rampart.core.vocabulary import EventStatusName, SeverityName
from rampart.ingest import SCHEMA
from rampart.ingest.events.models import ArtifactPublic, EventDetail, EventPublic, NotePublic
from rampart.ingest.events.normalized import clean_json, clean_text, make_artifact, unique_labels
from rampart.ingest.workbook import service as workbook
from rampart.ingest.workbook.models import PhaseSpec, TaskCreate

_COLUMNS = (
    "id, source, source_ref, name, severity, labels, status, owner, resolution, data, "
    "occurred_at, due_at, sla_breached_at, closed_at, created_at, updated_at"
)
# closing straight from new is allowed (a false positive), and a closed event may reopen
TRANSITIONS: dict[str, set[str]] = {
    "new": {"open", "closed"},
    "open": {"closed"},
    "closed": {"open"},
}


class CursorError(FieldError):
    """A list's ``cursor`` is not one this API gave out; a bad request rather than bad data."""

    status = 400


@dataclass(slots=True)
class Change:
    """What to change on one event; empty fields change nothing."""

    status: EventStatusName | None = None
    resolution: str | None = None
    severity: SeverityName | None = None
    owner: str | None = None
    set_owner: bool = False
    labels: list[str] | None = None
    add_labels: list[str] = field(default_factory=list)
    remove_labels: list[str] = field(default_factory=list)
    note: str | None = None
    artifacts: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    add_task: TaskCreate | None = None
    phases: list[PhaseSpec] = field(default_factory=list)
    phase_owner: str | None = None
    complete_task: tuple[UUID | None, str | None, str] | None = None


@dataclass(slots=True)
class Applied:
    """What a change did: the fields that changed and the ids it made."""

    changes: dict[str, Any] = field(default_factory=dict)
    note_id: UUID | None = None
    task_ids: list[UUID] = field(default_factory=list)
    completed_task: UUID | None = None


async def get(*, conn: Conn, event_id: UUID) -> EventPublic | None:
    """One event by id, without its parts."""
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM {SCHEMA}.events WHERE id = $1", event_id)
    return EventPublic(**dict(row)) if row else None


async def get_detail(*, conn: Conn, event_id: UUID) -> EventDetail | None:
    """One event with its artifacts, notes and workbook, read from one snapshot."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        return await _detail(conn=conn, event_id=event_id)


async def _detail(*, conn: Conn, event_id: UUID) -> EventDetail | None:
    event = await get(conn=conn, event_id=event_id)
    if event is None:
        return None
    artifacts = await conn.fetch(
        f"SELECT id, name, cef, contains, created_at FROM {SCHEMA}.artifacts "
        "WHERE event_id = $1 ORDER BY created_at, id",
        event_id,
    )
    notes = await conn.fetch(
        f"SELECT id, author, text, created_at FROM {SCHEMA}.notes WHERE event_id = $1 "
        "ORDER BY created_at, id",
        event_id,
    )
    return EventDetail(
        **event.model_dump(),
        artifacts=[ArtifactPublic(**dict(a)) for a in artifacts],
        notes=[NotePublic(**dict(n)) for n in notes],
        workbook=await workbook.load(conn=conn, event_id=event_id),
    )


@dataclass(frozen=True, slots=True)
class EventFilter:
    """What a list of events is narrowed to."""

    status: list[EventStatusName] | None = None
    severity: list[SeverityName] | None = None
    labels: list[str] | None = None
    source: str | None = None
    owner: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    text: str | None = None


def encode_cursor(created_at: datetime, event_id: UUID) -> str:
    """An opaque cursor after one event."""
    raw = json.dumps([created_at.isoformat(), str(event_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    """The position a cursor stands for; ``CursorError`` if it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created, event_id = json.loads(raw)
        return datetime.fromisoformat(created), UUID(event_id)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise CursorError("cursor", "not a cursor from this API") from None


async def list_page(
    *, conn: Conn, where: EventFilter, limit: int, cursor: str | None
) -> tuple[list[EventPublic], str | None]:
    """Events newest first, filtered, one page at a time."""
    clauses: list[str] = []
    args: list[Any] = []

    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    if where.status:
        clauses.append(f"status = ANY({arg(where.status)}::text[])")
    if where.severity:
        clauses.append(f"severity = ANY({arg(where.severity)}::text[])")
    if where.labels:
        clauses.append(f"labels @> {arg(where.labels)}::text[]")
    if where.source:
        clauses.append(f"source = {arg(where.source)}")
    if where.owner:
        clauses.append(f"owner = {arg(where.owner)}")
    if where.since:
        clauses.append(f"created_at >= {arg(where.since)}")
    if where.until:
        clauses.append(f"created_at < {arg(where.until)}")
    if where.text:
        pattern = arg(
            "%" + where.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        )
        clauses.append(
            f"(name ILIKE {pattern} OR source_ref ILIKE {pattern} OR EXISTS (SELECT 1 FROM "
            f"{SCHEMA}.artifacts a WHERE a.event_id = events.id AND a.cef::text ILIKE {pattern}))"
        )
    if cursor:
        created, event_id = decode_cursor(cursor)
        clauses.append(f"(created_at, id) < ({arg(created)}, {arg(event_id)})")
    sql = f"SELECT {_COLUMNS} FROM {SCHEMA}.events"
    if clauses:
        sql += " WHERE " + " AND ".join(clauses)
    sql += f" ORDER BY created_at DESC, id DESC LIMIT {arg(limit + 1)}"
    rows = await conn.fetch(sql, *args)
    items = [EventPublic(**dict(r)) for r in rows[:limit]]
    more = len(rows) > limit
    return items, encode_cursor(items[-1].created_at, items[-1].id) if more and items else None


async def mark_sla_breached(*, conn: Conn, event_id: UUID, breached_at: datetime) -> bool:
    """Record that an event's due time passed; False if the event is unknown."""
    status = await conn.execute(
        f"UPDATE {SCHEMA}.events SET sla_breached_at = $2, updated_at = now() "
        "WHERE id = $1 AND sla_breached_at IS NULL",
        event_id,
        breached_at,
    )
    return affected_rows(status) == 1


async def apply_change(
    *,
    conn: Conn,
    event_id: UUID,
    change: Change,
    actor: str | None,
    sla_minutes: dict[str, int],
    publish: Publisher,
    cause: Envelope | None = None,
) -> Applied:
    """Apply a change in the caller's transaction and publish the messages it causes.

    Raises ``NotFoundError`` for an unknown event, ``ConflictError`` for a move the status
    cannot make and ``FieldError`` for a close without a resolution or a task that does not
    exist; the caller's transaction then rolls back whatever was written.
    """
    row = await conn.fetchrow(
        f"SELECT id, source, status, severity, owner, labels, resolution, created_at "
        f"FROM {SCHEMA}.events WHERE id = $1 FOR UPDATE",
        event_id,
    )
    if row is None:
        raise NotFoundError(f"no event {event_id}")
    now = datetime.now(UTC)
    applied = Applied()
    sets: dict[str, Any] = {}
    closing = _status_change(row, change, sets, applied, now)
    if change.severity is not None and change.severity != row["severity"]:
        sets["severity"] = change.severity
        applied.changes["severity"] = change.severity
        if (sets.get("status") or row["status"]) != "closed":
            minutes = await _sla_of(conn=conn, source=row["source"], defaults=sla_minutes)
            due_at = row["created_at"] + timedelta(minutes=minutes[change.severity])
            sets["due_at"] = due_at
            applied.changes["due_at"] = due_at.isoformat()
    if change.set_owner and change.owner != row["owner"]:
        sets["owner"] = change.owner
        applied.changes["owner"] = change.owner
    labels = _labels(list(row["labels"]), change)
    if labels != list(row["labels"]):
        sets["labels"] = labels
        applied.changes["labels"] = labels
    completion: list[Message] = []
    if change.complete_task is not None:
        task_id, task_name, note = change.complete_task
        done_id, changed = await workbook.complete_task(
            conn=conn,
            event_id=event_id,
            task_id=task_id,
            name=task_name,
            note=note,
            by=actor,
            now=now,
        )
        if done_id is None:
            raise FieldError("complete_task", "no such task on this event")
        if changed:
            applied.completed_task = done_id
            completion.append(
                TaskCompleted(
                    event_id=event_id,
                    task_id=done_id,
                    completed_by=actor,
                    note=note,
                    completed_at=now,
                )
            )
            phase_done = await workbook.complete_phase_of(conn=conn, task_id=done_id, now=now)
            if phase_done is not None:
                completion.append(phase_done)
    if sets:
        assignments, values = set_clause(sets, first=2)
        await conn.execute(
            f"UPDATE {SCHEMA}.events SET {assignments}, updated_at = now() WHERE id = $1",
            event_id,
            *values,
        )
    if change.note:
        applied.note_id = uuid7()
        await conn.execute(
            f"INSERT INTO {SCHEMA}.notes (id, event_id, author, text) VALUES ($1, $2, $3, $4)",
            applied.note_id,
            event_id,
            actor,
            clean_text(change.note),
        )
        applied.changes["note_added"] = str(applied.note_id)
    added = await _add_artifacts(conn=conn, event_id=event_id, artifacts=change.artifacts)
    if added:
        applied.changes["artifacts_added"] = added
    messages: list[Message] = []
    if change.add_task is not None:
        messages.extend(
            await workbook.add_task(conn=conn, event_id=event_id, task=change.add_task, now=now)
        )
    if change.phases:
        messages.extend(
            await workbook.add_phases(
                conn=conn,
                event_id=event_id,
                phases=change.phases,
                now=now,
                owner=change.phase_owner,
            )
        )
    applied.task_ids = [m.task_id for m in messages if isinstance(m, TaskCreated)]
    messages.extend(completion)
    if applied.changes:
        messages.insert(
            0, EventUpdated(event_id=event_id, changes=applied.changes, updated_by=actor)
        )
    if closing:
        messages.append(
            EventClosed(
                event_id=event_id,
                resolution=change.resolution or "",
                closed_at=now,
                closed_by=actor,
            )
        )
    await publish(
        conn,
        *messages,
        subject=str(event_id),
        cause=cause,
        correlation_id=None if cause else str(event_id),
    )
    return applied


def _status_change(
    row: Record, change: Change, sets: dict[str, Any], applied: Applied, now: datetime
) -> bool:
    if change.status is None or change.status == row["status"]:
        if change.resolution is not None and change.status is None:
            raise FieldError("resolution", "a resolution is given only when closing")
        return False
    if change.status not in TRANSITIONS[row["status"]]:
        raise ConflictError(
            f"status: an event that is {row['status']} cannot become {change.status}"
        )
    sets["status"] = change.status
    applied.changes["status"] = change.status
    if change.status == "closed":
        if not change.resolution or not change.resolution.strip():
            raise FieldError("resolution", "closing an event needs a resolution")
        sets["resolution"] = clean_text(change.resolution)
        sets["closed_at"] = now
        applied.changes["resolution"] = sets["resolution"]
        return True
    sets["closed_at"] = None
    return False


def _labels(current: list[str], change: Change) -> list[str]:
    labels = list(change.labels) if change.labels is not None else list(current)
    labels = unique_labels(labels + change.add_labels)
    removed = set(change.remove_labels)
    return [label for label in labels if label not in removed]


async def _sla_of(*, conn: Conn, source: str, defaults: dict[str, int]) -> dict[str, int]:
    overrides = await conn.fetchval(
        f"SELECT sla_minutes FROM {SCHEMA}.sources WHERE name = $1", source
    )
    return {**defaults, **(overrides or {})}


async def _add_artifacts(
    *, conn: Conn, event_id: UUID, artifacts: list[tuple[str, dict[str, Any]]]
) -> int:
    made = [a for a in (make_artifact(name, clean_json(cef)) for name, cef in artifacts) if a]
    if not made:
        return 0
    rows = await conn.fetch(
        f"INSERT INTO {SCHEMA}.artifacts (id, event_id, name, cef, contains, fingerprint) "
        "SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::jsonb[], $5::jsonb[], "
        "$6::bytea[]) ON CONFLICT (event_id, fingerprint) DO NOTHING RETURNING id",
        [uuid7() for _ in made],
        [event_id] * len(made),
        [a.name for a in made],
        [a.cef for a in made],
        [a.contains for a in made],
        [a.fingerprint for a in made],
    )
    return len(rows)
