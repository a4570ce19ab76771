"""HTTP routes of the playbook engine: playbooks, runs, prompts, and the events it has seen."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Path, Query, Response

from rampart.core.auth import Admin, Analyst, CurrentPrincipal, Decider, Reader, Role
from rampart.core.deps import Conn
from rampart.core.errors import FieldError, ForbiddenError, NotFoundError
from rampart.core.problems import Problem
from rampart.core.vocabulary import PLAYBOOK_NAME
from rampart.engine import events
from rampart.engine.models import (
    PlaybookCreate,
    PlaybookDetail,
    PlaybookPublic,
    PlaybookUpdate,
    PromptAnswer,
    PromptPublic,
    PromptStatus,
    RunCreate,
    RunDetail,
    RunPublic,
    RunStatus,
)
from rampart.engine.playbooks import audit, sources, versions
from rampart.engine.runs import prompts, store, triggers
from rampart.engine.state import EngineDep

router = APIRouter(tags=["playbooks"])

Name = Annotated[str, Path(pattern=PLAYBOOK_NAME)]
Limit = Annotated[int, Query(ge=1, le=500)]


def _invalid(exc: FieldError, **extensions: Any) -> Problem:
    errors = [{"field": exc.field, "message": exc.message}]
    return Problem(422, exc.detail, errors=errors, field=exc.field, **extensions)


@contextlib.contextmanager
def _refusals() -> Iterator[None]:
    """Answer a refusal with the fields the engine's problems have always named."""
    try:
        yield
    except sources.SourceRefused as exc:
        raise _invalid(exc, line=exc.line) from None
    except prompts.NotAChoice as exc:
        raise _invalid(exc, choices=exc.choices) from None
    except FieldError as exc:
        raise _invalid(exc) from None
    except store.RunEnded as exc:
        raise Problem(409, exc.detail, status_now=exc.run_status) from None
    except prompts.PromptClosed as exc:
        raise Problem(409, exc.detail, status_now=exc.prompt_status) from None


@router.get("/playbooks", summary="List playbooks")
async def get_playbooks(conn: Conn, _who: Reader) -> list[PlaybookPublic]:
    """The newest version of every playbook, by priority."""
    return [PlaybookPublic.of(v) for v in await versions.newest_all(conn=conn)]


@router.post("/playbooks", status_code=201, summary="Upload a playbook (admin)")
async def post_playbook(
    conn: Conn,
    engine: EngineDep,
    response: Response,
    body: PlaybookCreate,
    who: CurrentPrincipal,
) -> PlaybookPublic:
    """Store a new version; 200 with the newest version when the source is unchanged.

    Every attempt is recorded with who made it, a caller without the admin role too.
    """
    if who.role is not Role.ADMIN:
        await audit.record(conn=conn, who=who, action="upload", outcome="forbidden")
        raise ForbiddenError("uploading a playbook needs the admin role")
    with _refusals():
        try:
            version, created = await sources.upload(
                conn=conn,
                processes=engine.processes,
                source=body.source,
                created_by=who.name,
                active=body.active,
                timeout_s=engine.config.inspect_timeout_s,
            )
        except FieldError as exc:
            await audit.record(
                conn=conn, who=who, action="upload", outcome="refused", detail=exc.detail
            )
            raise
        await audit.record(
            conn=conn,
            who=who,
            action="upload",
            outcome="created" if created else "unchanged",
            playbook=version.name,
            version=version.version,
        )
    if not created:
        response.status_code = 200
    response.headers["Location"] = f"/api/v1/playbooks/{version.name}"
    return PlaybookPublic.of(version)


@router.get("/playbooks/{name}", summary="Get a playbook with its source")
async def get_playbook(
    conn: Conn, name: Name, _who: Reader, version: Annotated[int | None, Query(ge=1)] = None
) -> PlaybookDetail:
    """The newest version (or ``version``) with its source and every version number."""
    every = await versions.history_of(conn=conn, name=name)
    chosen = next((v for v in every if version in (None, v.version)), None)
    if chosen is None:
        raise NotFoundError(f"no playbook {name!r}" + (f" v{version}" if version else ""))
    return PlaybookDetail(
        **PlaybookPublic.of(chosen).model_dump(),
        source=chosen.source,
        versions=[v.version for v in every],
    )


@router.patch("/playbooks/{name}", summary="Activate or deactivate a playbook (admin)")
async def patch_playbook(
    conn: Conn, name: Name, body: PlaybookUpdate, _who: Admin
) -> PlaybookPublic:
    """Activate or deactivate every version; runs already started go on."""
    if not await versions.set_active(conn=conn, name=name, active=body.active):
        raise NotFoundError(f"no playbook {name!r}")
    newest = await versions.latest(conn=conn, name=name)
    assert newest is not None
    return PlaybookPublic.of(newest)


@router.get("/runs", summary="List playbook runs")
async def get_runs(
    conn: Conn,
    _who: Reader,
    playbook: Annotated[str | None, Query(pattern=PLAYBOOK_NAME)] = None,
    event_id: UUID | None = None,
    status: RunStatus | None = None,
    limit: Limit = 50,
) -> list[RunPublic]:
    """Runs, newest first."""
    return await store.list_runs(
        conn=conn, playbook=playbook, event_id=event_id, status=status, limit=limit
    )


@router.post("/runs", status_code=201, summary="Run a playbook on an event (analyst)")
async def post_run(engine: EngineDep, body: RunCreate, who: Analyst) -> RunPublic:
    """Start a run by hand; it begins within a moment."""
    with _refusals():
        return await triggers.request_run(engine=engine, body=body, who=who)


@router.get("/runs/{run_id}", summary="Get a run with its timeline")
async def get_run(conn: Conn, run_id: UUID, _who: Reader) -> RunDetail:
    """One run: its commands, results, log lines and error."""
    return await store.get_run(conn=conn, run_id=run_id)


@router.post("/runs/{run_id}/cancel", summary="Cancel a run (analyst)")
async def cancel_run(conn: Conn, run_id: UUID, who: Analyst) -> RunPublic:
    """Stop a run that has not finished; its children stop too."""
    with _refusals():
        return await store.cancel_run(conn=conn, run_id=run_id, by=who.name)


@router.get("/prompts", summary="List prompts")
async def get_prompts(
    conn: Conn, who: Decider, status: PromptStatus | None = "pending", limit: Limit = 50
) -> list[PromptPublic]:
    """Questions playbooks asked; an approver sees only those addressed to them."""
    found = await prompts.list_prompts(conn=conn, status=status, recipient=None, limit=500)
    return [p for p in found if prompts.may_answer(who, p.recipient)][:limit]


@router.post("/prompts/{prompt_id}/answer", summary="Answer a prompt")
async def answer_prompt(
    conn: Conn, prompt_id: UUID, body: PromptAnswer, who: Decider
) -> PromptPublic:
    """Answer a pending prompt; the run resumes with the answer."""
    with _refusals():
        return await prompts.answer_prompt(
            conn=conn, prompt_id=prompt_id, answer=body.answer, principal=who
        )


@router.get("/playbook-audit", summary="Upload attempts and administrators' runs (admin)")
async def get_playbook_audit(conn: Conn, _who: Admin, limit: Limit = 50) -> list[audit.AuditEntry]:
    """Who tried what with playbooks, newest first."""
    return await audit.entries(conn=conn, limit=limit)


@router.get("/engine/events", summary="Events the engine has received")
async def get_engine_events(conn: Conn, _who: Reader, limit: Limit = 50) -> list[events.KnownEvent]:
    """Events the engine has been told about, newest first."""
    return await events.list_events(conn=conn, limit=limit)
