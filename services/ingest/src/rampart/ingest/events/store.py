"""Writing normalized events in batches: one transaction, a few statements, resends merged.

New events go in with one ``INSERT ... ON CONFLICT DO NOTHING``; an event whose
``(source, source_ref)`` exists is locked and merged (fields updated, labels joined, new
artifacts added) and answers with the existing id. Rows are handled in key order so that
concurrent batches lock them in the same order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from rampart.core.deps import Conn
from rampart.core.ids import uuid7
from rampart.core.messages import EventIngested, EventUpdated, Message
from rampart.core.outbox import Publisher
from rampart.ingest import SCHEMA
from rampart.ingest.events.normalized import Artifact, NormalizedEvent, unique_labels
from rampart.ingest.workbook import service as workbook
from rampart.ingest.workbook.templates import TEMPLATES


class Replayed(Exception):
    """A signed webhook whose id this source already delivered, with the answer it was given."""

    def __init__(self, answer: str | None = None) -> None:
        super().__init__("webhook-id was already delivered")
        self.answer = answer


@dataclass(slots=True)
class Submission:
    """Events of one request (or one syslog message, one poll page) to store together."""

    events: list[NormalizedEvent]
    sla_minutes: dict[str, int]
    workbook: str | None = None
    source_id: UUID | None = None
    webhook_id: str | None = None
    answer: Callable[[list[Stored]], str] | None = None
    """How the request is answered, kept with its ``webhook_id`` so a retry gets the same."""


@dataclass(frozen=True, slots=True)
class Stored:
    """Where one submitted event went."""

    id: UUID
    created: bool


@dataclass(slots=True)
class _Candidate:
    id: UUID
    event: NormalizedEvent
    sla_minutes: dict[str, int]
    workbook: str | None
    artifacts: dict[bytes, Artifact]
    created: bool = False
    changes: dict[str, Any] = field(default_factory=dict)
    artifacts_added: int = 0

    def absorb(self, later: NormalizedEvent) -> None:
        """Merge a later copy of the same event from the same batch."""
        self.event.name = later.name
        self.event.severity = later.severity
        self.event.data = later.data
        self.event.occurred_at = later.occurred_at or self.event.occurred_at
        self.event.labels = unique_labels(self.event.labels + later.labels)
        for artifact in later.artifacts:
            self.artifacts.setdefault(artifact.fingerprint, artifact)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


async def write_batch(
    *, conn: Conn, submissions: list[Submission], publish: Publisher
) -> list[list[Stored] | Replayed]:
    """Store every submission in one transaction; a replayed one gets ``Replayed``."""
    now = datetime.now(UTC)
    async with conn.transaction():
        replayed = await _claim_webhook_ids(conn=conn, submissions=submissions)
        slots: list[list[_Candidate] | None] = []
        by_key: dict[tuple[str, str], _Candidate] = {}
        firsts: set[tuple[int, int]] = set()
        candidates: list[_Candidate] = []
        for index, submission in enumerate(submissions):
            if index in replayed:
                slots.append(None)
                continue
            row: list[_Candidate] = []
            for position, event in enumerate(submission.events):
                key = (event.source, event.source_ref) if event.source_ref else None
                if key is not None and key in by_key:
                    by_key[key].absorb(event)
                    row.append(by_key[key])
                    continue
                candidate = _Candidate(
                    id=uuid7(),
                    event=event,
                    sla_minutes=submission.sla_minutes,
                    workbook=submission.workbook,
                    artifacts={a.fingerprint: a for a in event.artifacts},
                )
                if key is not None:
                    by_key[key] = candidate
                candidates.append(candidate)
                firsts.add((index, position))
                row.append(candidate)
            slots.append(row)
        if candidates:
            candidates.sort(key=lambda c: (c.event.source, c.event.source_ref or "", c.id))
            await _insert_new(conn=conn, candidates=candidates, now=now)
            resent = [c for c in candidates if not c.created]
            await _merge_existing(conn=conn, resent=resent, now=now)
            await _insert_artifacts(conn=conn, candidates=candidates)
            await publish.each(conn, await _announce(conn=conn, candidates=candidates, now=now))
        results: list[list[Stored] | Replayed] = []
        for index, slot in enumerate(slots):
            if slot is None:
                results.append(Replayed(replayed[index]))
                continue
            results.append(
                [
                    Stored(c.id, c.created and (index, position) in firsts)
                    for position, c in enumerate(slot)
                ]
            )
        kept = await _keep_answers(conn=conn, submissions=submissions, results=results)
    for submission, result in zip(submissions, results, strict=True):
        if isinstance(result, Replayed) and result.answer is None:
            # a copy in the same batch as the request it repeats: that request's answer
            result.answer = kept.get((submission.source_id, submission.webhook_id))
    return results


async def _keep_answers(
    *, conn: Conn, submissions: list[Submission], results: list[list[Stored] | Replayed]
) -> dict[tuple[UUID | None, str | None], str]:
    kept = [
        (s.source_id, s.webhook_id, s.answer(result))
        for s, result in zip(submissions, results, strict=True)
        if s.source_id is not None
        and s.webhook_id is not None
        and s.answer is not None
        and not isinstance(result, Replayed)
    ]
    if kept:
        await conn.executemany(
            f"UPDATE {SCHEMA}.webhook_ids SET answer = $3 WHERE source_id = $1 AND webhook_id = $2",
            kept,
        )
    return {(source_id, webhook_id): answer for source_id, webhook_id, answer in kept}


async def _claim_webhook_ids(*, conn: Conn, submissions: list[Submission]) -> dict[int, str | None]:
    """Claim each submission's webhook id; the replayed ones, with the answer first given."""
    wanted = [
        (i, s.source_id, s.webhook_id)
        for i, s in enumerate(submissions)
        if s.source_id is not None and s.webhook_id is not None
    ]
    if not wanted:
        return {}
    wanted.sort(key=lambda w: (str(w[1]), str(w[2])))
    rows = await conn.fetch(
        f"INSERT INTO {SCHEMA}.webhook_ids (source_id, webhook_id) "
        "SELECT DISTINCT * FROM unnest($1::uuid[], $2::text[]) "
        "ON CONFLICT DO NOTHING RETURNING source_id, webhook_id",
        [w[1] for w in wanted],
        [w[2] for w in wanted],
    )
    fresh = {(r["source_id"], r["webhook_id"]) for r in rows}
    replayed: dict[int, str | None] = {}
    for index, source_id, webhook_id in wanted:
        if (source_id, webhook_id) in fresh:
            fresh.discard((source_id, webhook_id))  # the first in the batch takes it
        else:
            replayed[index] = None
    if replayed:
        # the claim above waited for any transaction that held these ids: their answers are in
        answers = await conn.fetch(
            f"SELECT source_id, webhook_id, answer FROM {SCHEMA}.webhook_ids "
            "WHERE (source_id, webhook_id) IN (SELECT * FROM unnest($1::uuid[], $2::text[]))",
            [submissions[i].source_id for i in replayed],
            [submissions[i].webhook_id for i in replayed],
        )
        by_id = {(r["source_id"], r["webhook_id"]): r["answer"] for r in answers}
        for index in replayed:
            key = (submissions[index].source_id, submissions[index].webhook_id)
            replayed[index] = by_id.get(key)
    return replayed


def _due(candidate: _Candidate, created_at: datetime) -> datetime:
    minutes = candidate.sla_minutes.get(candidate.event.severity, 1440)
    return created_at + timedelta(minutes=minutes)


async def _insert_new(*, conn: Conn, candidates: list[_Candidate], now: datetime) -> None:
    rows = [
        {
            "id": str(c.id),
            "source": c.event.source,
            "source_ref": c.event.source_ref,
            "name": c.event.name,
            "severity": c.event.severity,
            "labels": c.event.labels,
            "data": c.event.data,
            "occurred_at": _iso(c.event.occurred_at),
            "due_at": _iso(_due(c, now)),
            "created_at": _iso(now),
        }
        for c in candidates
    ]
    inserted = await conn.fetch(
        f"INSERT INTO {SCHEMA}.events (id, source, source_ref, name, severity, labels, data, "
        "occurred_at, due_at, created_at, updated_at) "
        "SELECT id, source, source_ref, name, severity, labels, data, occurred_at, due_at, "
        "created_at, created_at FROM jsonb_to_recordset($1::jsonb) AS x(id uuid, source text, "
        "source_ref text, name text, severity text, labels text[], data jsonb, "
        "occurred_at timestamptz, due_at timestamptz, created_at timestamptz) "
        "ON CONFLICT (source, source_ref) WHERE source_ref IS NOT NULL DO NOTHING RETURNING id",
        rows,
    )
    created = {r["id"] for r in inserted}
    for candidate in candidates:
        candidate.created = candidate.id in created


async def _merge_existing(*, conn: Conn, resent: list[_Candidate], now: datetime) -> None:
    if not resent:
        return
    existing = await conn.fetch(
        f"SELECT e.id, e.source, e.source_ref, e.name, e.severity, e.labels, e.occurred_at, "
        f"e.status, e.created_at, e.due_at FROM {SCHEMA}.events e "
        "JOIN unnest($1::text[], $2::text[]) AS k(source, source_ref) "
        "ON e.source = k.source AND e.source_ref = k.source_ref "
        "ORDER BY e.source, e.source_ref FOR UPDATE OF e",
        [c.event.source for c in resent],
        [c.event.source_ref for c in resent],
    )
    found = {(r["source"], r["source_ref"]): r for r in existing}
    updates: list[tuple[Any, ...]] = []
    for candidate in resent:
        row = found.get((candidate.event.source, candidate.event.source_ref))
        if row is None:  # deleted between the insert and the lock: nothing to merge into
            raise RuntimeError("an event vanished while a resend was merged")
        candidate.id = row["id"]
        event = candidate.event
        labels = unique_labels(list(row["labels"]) + event.labels)
        changes: dict[str, Any] = {}
        if event.name != row["name"]:
            changes["name"] = event.name
        if labels != list(row["labels"]):
            changes["labels"] = labels
        due_at = row["due_at"]
        if event.severity != row["severity"]:
            changes["severity"] = event.severity
            if row["status"] != "closed":
                due_at = _due(candidate, row["created_at"])
                changes["due_at"] = due_at.isoformat()
        occurred = event.occurred_at or row["occurred_at"]
        if occurred != row["occurred_at"]:
            changes["occurred_at"] = _iso(occurred)
        candidate.changes = changes
        updates.append(
            (row["id"], event.name, event.severity, labels, event.data, occurred, due_at)
        )
    await conn.executemany(
        f"UPDATE {SCHEMA}.events SET name = $2, severity = $3, labels = $4, data = $5, "
        "occurred_at = $6, due_at = $7, updated_at = now() WHERE id = $1",
        updates,
    )


async def _insert_artifacts(*, conn: Conn, candidates: list[_Candidate]) -> None:
    rows = [
        {
            "id": str(uuid7()),
            "event_id": str(c.id),
            "name": a.name,
            "cef": a.cef,
            "contains": a.contains,
            "fingerprint": fingerprint.hex(),
        }
        for c in candidates
        for fingerprint, a in sorted(c.artifacts.items())
    ]
    if not rows:
        return
    added = await conn.fetch(
        f"INSERT INTO {SCHEMA}.artifacts (id, event_id, name, cef, contains, fingerprint) "
        "SELECT id, event_id, name, cef, contains, decode(fingerprint, 'hex') "
        "FROM jsonb_to_recordset($1::jsonb) AS x(id uuid, event_id uuid, name text, cef jsonb, "
        "contains jsonb, fingerprint text) "
        "ON CONFLICT (event_id, fingerprint) DO NOTHING RETURNING event_id",
        rows,
    )
    counts: dict[UUID, int] = {}
    for r in added:
        counts[r["event_id"]] = counts.get(r["event_id"], 0) + 1
    for candidate in candidates:
        candidate.artifacts_added = counts.get(candidate.id, 0)


async def _announce(
    *, conn: Conn, candidates: list[_Candidate], now: datetime
) -> list[tuple[Message, str]]:
    messages: list[tuple[Message, str]] = []
    for c in candidates:
        event = c.event
        if c.created:
            messages.append(
                (
                    EventIngested(
                        event_id=c.id,
                        source=event.source,
                        source_ref=event.source_ref,
                        name=event.name,
                        severity=event.severity,
                        labels=event.labels,
                        occurred_at=event.occurred_at,
                        due_at=_due(c, now),
                        artifact_count=c.artifacts_added,
                    ),
                    str(c.id),
                )
            )
            template = TEMPLATES.get(c.workbook or "")
            if template:
                tasks = await workbook.add_phases(
                    conn=conn, event_id=c.id, phases=template, now=now
                )
                messages.extend((t, str(c.id)) for t in tasks)
            continue
        changes = dict(c.changes)
        if c.artifacts_added:
            changes["artifacts_added"] = c.artifacts_added
        if changes:
            messages.append(
                (EventUpdated(event_id=c.id, changes=changes, updated_by=event.source), str(c.id))
            )
    return messages
