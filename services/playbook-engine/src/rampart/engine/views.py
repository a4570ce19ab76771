"""HTTP routes of the playbook engine: playbooks, runs, prompts, and the events it has seen."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from rampart.core.auth import Principal, Role, require_roles
from rampart.core.problems import Problem
from rampart.engine import runs, service, sources, versions
from rampart.engine.engine import EngineRuntime
from rampart.engine.models import (
    NAME_PATTERN,
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

Reader = Annotated[Principal, Depends(require_roles(Role.ANALYST, Role.SERVICE))]
Analyst = Annotated[Principal, Depends(require_roles(Role.ANALYST))]
Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
Answerer = Annotated[Principal, Depends(require_roles(Role.ANALYST, Role.APPROVER))]
Name = Annotated[str, Path(pattern=NAME_PATTERN)]
Limit = Annotated[int, Query(ge=1, le=500)]


def make_router(runtime: EngineRuntime) -> APIRouter:
    """The engine's routes, bound to the runtime that holds each app's engine."""
    router = APIRouter(tags=["playbooks"])

    @router.get("/playbooks", summary="List playbooks")
    async def get_playbooks(request: Request, _who: Reader) -> list[PlaybookPublic]:
        """The newest version of every playbook, by priority."""
        async with request.state.pool.acquire() as conn:
            return [PlaybookPublic.of(v) for v in await versions.newest_all(conn=conn)]

    @router.post("/playbooks", status_code=201, summary="Upload a playbook (admin)")
    async def post_playbook(
        request: Request, response: Response, body: PlaybookCreate, who: Admin
    ) -> PlaybookPublic:
        """Store a new version; 200 with the newest version when the source is unchanged."""
        engine = runtime.engine(request.state.resources)
        await engine.wait_ready()
        try:
            async with request.state.pool.acquire() as conn:
                version, created = await sources.upload(
                    engine, conn=conn, source=body.source, created_by=who.name, active=body.active
                )
        except sources.SourceRefused as exc:
            raise Problem(422, f"source: {exc}", field="source", line=exc.line) from None
        if not created:
            response.status_code = 200
        response.headers["Location"] = f"/api/v1/playbooks/{version.name}"
        return PlaybookPublic.of(version)

    @router.get("/playbooks/{name}", summary="Get a playbook with its source")
    async def get_playbook(
        request: Request,
        name: Name,
        _who: Reader,
        version: Annotated[int | None, Query(ge=1)] = None,
    ) -> PlaybookDetail:
        """The newest version (or ``version``) with its source and every version number."""
        async with request.state.pool.acquire() as conn:
            every = await versions.history_of(conn=conn, name=name)
        chosen = next((v for v in every if version in (None, v.version)), None)
        if chosen is None:
            raise Problem(404, f"no playbook {name!r}" + (f" v{version}" if version else ""))
        return PlaybookDetail(
            **PlaybookPublic.of(chosen).model_dump(),
            source=chosen.source,
            versions=[v.version for v in every],
        )

    @router.patch("/playbooks/{name}", summary="Activate or deactivate a playbook (admin)")
    async def patch_playbook(
        request: Request, name: Name, body: PlaybookUpdate, _who: Admin
    ) -> PlaybookPublic:
        """Activate or deactivate every version; runs already started go on."""
        async with request.state.pool.acquire() as conn:
            if not await versions.set_active(conn=conn, name=name, active=body.active):
                raise Problem(404, f"no playbook {name!r}")
            newest = await versions.latest(conn=conn, name=name)
        assert newest is not None
        return PlaybookPublic.of(newest)

    @router.get("/runs", summary="List playbook runs")
    async def get_runs(
        request: Request,
        _who: Reader,
        playbook: Annotated[str | None, Query(pattern=NAME_PATTERN)] = None,
        event_id: UUID | None = None,
        status: RunStatus | None = None,
        limit: Limit = 50,
    ) -> list[RunPublic]:
        """Runs, newest first."""
        async with request.state.pool.acquire() as conn:
            return await runs.list_runs(
                conn=conn, playbook=playbook, event_id=event_id, status=status, limit=limit
            )

    @router.post("/runs", status_code=201, summary="Run a playbook on an event (analyst)")
    async def post_run(request: Request, body: RunCreate, who: Analyst) -> RunPublic:
        """Start a run by hand; it begins within a moment."""
        engine = runtime.engine(request.state.resources)
        await engine.wait_ready()
        return await runs.request_run(engine=engine, body=body, principal=who)

    @router.get("/runs/{run_id}", summary="Get a run with its timeline")
    async def get_run(request: Request, run_id: UUID, _who: Reader) -> RunDetail:
        """One run: its commands, results, log lines and error."""
        async with request.state.pool.acquire() as conn:
            found = await runs.get_run(conn=conn, run_id=run_id)
        if found is None:
            raise Problem(404, f"no run {run_id}")
        return found

    @router.post("/runs/{run_id}/cancel", summary="Cancel a run (analyst)")
    async def cancel_run(request: Request, run_id: UUID, who: Analyst) -> RunPublic:
        """Stop a run that has not finished; its children stop too."""
        async with request.state.pool.acquire() as conn:
            return await runs.cancel_run(conn=conn, run_id=run_id, principal=who)

    @router.get("/prompts", summary="List prompts")
    async def get_prompts(
        request: Request,
        who: Answerer,
        status: PromptStatus | None = "pending",
        limit: Limit = 50,
    ) -> list[PromptPublic]:
        """Questions playbooks asked; an approver sees only those addressed to them."""
        async with request.state.pool.acquire() as conn:
            found = await runs.list_prompts(conn=conn, status=status, recipient=None, limit=500)
        return [p for p in found if runs.may_answer(who, p.recipient)][:limit]

    @router.post("/prompts/{prompt_id}/answer", summary="Answer a prompt")
    async def answer_prompt(
        request: Request, prompt_id: UUID, body: PromptAnswer, who: Answerer
    ) -> PromptPublic:
        """Answer a pending prompt; the run resumes with the answer."""
        async with request.state.pool.acquire() as conn:
            return await runs.answer_prompt(
                conn=conn, prompt_id=prompt_id, answer=body.answer, principal=who
            )

    @router.get("/engine/events", summary="Events the engine has received")
    async def get_engine_events(
        request: Request, _who: Reader, limit: Limit = 50
    ) -> list[service.KnownEvent]:
        """Events the engine has been told about, newest first."""
        async with request.state.pool.acquire() as conn:
            return await service.list_events(conn=conn, limit=limit)

    return router
