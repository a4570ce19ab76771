"""Runs and prompts as the API sees them: list, read with a timeline, start, cancel, answer."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from rampart.core.auth import Principal, Role
from rampart.core.problems import Problem
from rampart.engine import advance, timers, versions
from rampart.engine._context import describe
from rampart.engine.clients import snapshot
from rampart.engine.engine import Engine
from rampart.engine.models import (
    PromptPublic,
    RunCreate,
    RunDetail,
    RunPublic,
    TimelineEntry,
)
from rampart.engine.versions import SCHEMA

_RUN = (
    "id, playbook, version, event_id, status, trigger, parent_run_id, steps, passes, result, "
    "error, requested_by, created_at, updated_at, finished_at"
)
_PROMPT = (
    "id, run_id, seq, event_id, question, recipient, choices, status, answer, answered_by, "
    "due_at, created_at, answered_at"
)


async def list_runs(
    *,
    conn: Any,
    playbook: str | None,
    event_id: UUID | None,
    status: str | None,
    limit: int,
) -> list[RunPublic]:
    """Runs, newest first, filtered by playbook, event and status."""
    rows = await conn.fetch(
        f"SELECT {_RUN} FROM {SCHEMA}.runs WHERE ($1::text IS NULL OR playbook = $1) "
        "AND ($2::uuid IS NULL OR event_id = $2) AND ($3::text IS NULL OR status = $3) "
        "ORDER BY created_at DESC, id DESC LIMIT $4",
        playbook,
        event_id,
        status,
        limit,
    )
    return [RunPublic(**dict(r)) for r in rows]


async def get_run(*, conn: Any, run_id: UUID) -> RunDetail | None:
    """One run with its timeline: every command, its result, and the log lines."""
    row = await conn.fetchrow(f"SELECT {_RUN}, event FROM {SCHEMA}.runs WHERE id = $1", run_id)
    if row is None:
        return None
    steps = await conn.fetch(
        f"SELECT seq, kind, command, status, result, created_at, completed_at "
        f"FROM {SCHEMA}.history WHERE run_id = $1 ORDER BY seq",
        run_id,
    )
    timeline = [
        TimelineEntry(
            seq=s["seq"],
            kind=s["kind"],
            summary=_summary(s["kind"], s["command"]),
            command=s["command"],
            status=s["status"],
            result=s["result"],
            created_at=s["created_at"],
            completed_at=s["completed_at"],
        )
        for s in steps
    ]
    return RunDetail(**dict(row), timeline=timeline)


def _summary(kind: str, command: dict[str, Any]) -> str:
    if kind == "log":
        return str(command.get("message", ""))
    return describe(kind, command)


async def request_run(*, engine: Engine, body: RunCreate, principal: Principal) -> RunPublic:
    """Start a playbook on an event by hand; the run begins on the next timer round."""
    async with engine.pool.acquire() as conn:
        if body.version is None:
            version = await versions.latest(conn=conn, name=body.playbook)
        else:
            version = await versions.get(conn=conn, name=body.playbook, version=body.version)
    if version is None:
        field = "playbook" if body.version is None else "version"
        raise Problem(422, f"no playbook {body.playbook!r} of that version", field=field)
    fetched = await engine.events.fetch(body.event_id)
    if fetched is None:
        raise Problem(422, f"no event {body.event_id}", field="event_id")
    event = snapshot(fetched, None)
    async with engine.pool.acquire() as conn, conn.transaction():
        run_id = await advance.create_run(
            conn=conn,
            version=version,
            event=event,
            trigger="manual",
            trigger_ref=None,
            requested_by=f"{principal.role.value}:{principal.name}",
        )
        assert run_id is not None
        await timers.add(conn=conn, run_id=run_id, kind="start", due_at=datetime.now(UTC))
        row = await conn.fetchrow(f"SELECT {_RUN} FROM {SCHEMA}.runs WHERE id = $1", run_id)
    return RunPublic(**dict(row))


async def cancel_run(*, conn: Any, run_id: UUID, principal: Principal) -> RunPublic:
    """Cancel a run that has not finished (and its children)."""
    async with conn.transaction():
        stopped = await advance.stop_run(
            conn=conn,
            run_id=run_id,
            status="cancelled",
            reason=f"cancelled by {principal.name}",
        )
        row = await conn.fetchrow(f"SELECT {_RUN} FROM {SCHEMA}.runs WHERE id = $1", run_id)
    if row is None:
        raise Problem(404, f"no run {run_id}")
    if not stopped:
        raise Problem(409, f"run {run_id} already ended: {row['status']}", status_now=row["status"])
    return RunPublic(**dict(row))


async def list_prompts(
    *, conn: Any, status: str | None, recipient: str | None, limit: int
) -> list[PromptPublic]:
    """Prompts, oldest first, filtered by status and recipient."""
    rows = await conn.fetch(
        f"SELECT {_PROMPT} FROM {SCHEMA}.prompts WHERE ($1::text IS NULL OR status = $1) "
        "AND ($2::text IS NULL OR recipient = $2) ORDER BY created_at LIMIT $3",
        status,
        recipient,
        limit,
    )
    return [PromptPublic(**dict(r)) for r in rows]


def may_answer(principal: Principal, recipient: str) -> bool:
    """Analysts answer any prompt; an approver only those addressed to them."""
    if principal.role in (Role.ADMIN, Role.ANALYST):
        return True
    return recipient in (principal.subject, principal.name)


async def answer_prompt(
    *, conn: Any, prompt_id: UUID, answer: str, principal: Principal
) -> PromptPublic:
    """Answer a pending prompt; the run resumes with the answer."""
    async with conn.transaction():
        row = await conn.fetchrow(
            f"SELECT {_PROMPT} FROM {SCHEMA}.prompts WHERE id = $1 FOR UPDATE", prompt_id
        )
        if row is None or not may_answer(principal, row["recipient"]):
            # an approver learns nothing of prompts addressed to others
            raise Problem(404, f"no prompt {prompt_id} for you")
        if row["status"] != "pending":
            raise Problem(409, f"prompt {prompt_id} is {row['status']}", status_now=row["status"])
        if row["choices"] and answer not in row["choices"]:
            raise Problem(
                422,
                f"answer: must be one of {', '.join(row['choices'])}",
                field="answer",
                choices=list(row["choices"]),
            )
        updated = await conn.fetchrow(
            f"UPDATE {SCHEMA}.prompts SET status = 'answered', answer = $2, answered_by = $3, "
            f"answered_at = now() WHERE id = $1 RETURNING {_PROMPT}",
            prompt_id,
            answer,
            principal.name,
        )
        await timers.add(
            conn=conn,
            run_id=row["run_id"],
            kind="result",
            seq=row["seq"],
            result={"answer": answer, "by": principal.name},
            due_at=datetime.now(UTC),
        )
    return PromptPublic(**dict(updated))
