"""HTTP routes of ingest sources (admin): create, read, change, delete, rotate the secret."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response

from rampart.core.auth import Principal, Role, require_roles
from rampart.core.problems import Problem
from rampart.ingest import sources
from rampart.ingest.source_models import (
    NAME_PATTERN,
    SecretRotate,
    SecretRotated,
    SourceCreate,
    SourceCreated,
    SourcePublic,
    SourceUpdate,
)
from rampart.ingest.state import state_of

router = APIRouter(tags=["sources"])

Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
SourceName = Annotated[str, Path(pattern=NAME_PATTERN)]


@router.post("/sources", status_code=201, summary="Create a source (admin)")
async def post_source(request: Request, body: SourceCreate, _admin: Admin) -> SourceCreated:
    """Create a source; its secret is in this answer only."""
    async with request.state.pool.acquire() as conn:
        made = await sources.create(conn=conn, keyring=request.state.keyring, source=body)
        if made is None:
            raise Problem(409, f"name: a source named {body.name!r} exists", field="name")
        public = await sources.get(conn=conn, name=body.name)
    state_of(request.state.resources).sources.forget(body.name)
    assert public is not None
    return SourceCreated(**public.model_dump(), secret=made[1])


@router.get("/sources", summary="List sources (admin)")
async def list_sources(request: Request, _admin: Admin) -> list[SourcePublic]:
    """Every source, without secrets."""
    async with request.state.pool.acquire() as conn:
        return await sources.list_all(conn=conn)


@router.get("/sources/{name}", summary="Get a source (admin)")
async def get_source(request: Request, name: SourceName, _admin: Admin) -> SourcePublic:
    """One source, without secrets."""
    async with request.state.pool.acquire() as conn:
        found = await sources.get(conn=conn, name=name)
    if found is None:
        raise Problem(404, f"no source {name!r}")
    return found


@router.patch("/sources/{name}", summary="Change a source (admin)")
async def patch_source(
    request: Request, name: SourceName, body: SourceUpdate, _admin: Admin
) -> SourcePublic:
    """Change a source's settings; its kind and name stay."""
    try:
        async with request.state.pool.acquire() as conn:
            found = await sources.update(
                conn=conn, keyring=request.state.keyring, name=name, changes=body
            )
    except ValueError as exc:
        field = str(exc).split(":", 1)[0]
        raise Problem(422, str(exc), field=field) from None
    if found is None:
        raise Problem(404, f"no source {name!r}")
    state_of(request.state.resources).sources.forget(name)
    return found


@router.delete("/sources/{name}", status_code=204, summary="Delete a source (admin)")
async def delete_source(request: Request, name: SourceName, _admin: Admin) -> Response:
    """Delete a source and its secrets; the events it sent stay."""
    async with request.state.pool.acquire() as conn:
        if not await sources.delete(conn=conn, name=name):
            raise Problem(404, f"no source {name!r}")
    state_of(request.state.resources).sources.forget(name)
    return Response(status_code=204)


@router.post("/sources/{name}/rotate-secret", summary="Rotate a source's secret (admin)")
async def rotate_secret(
    request: Request, name: SourceName, body: SecretRotate, _admin: Admin
) -> SecretRotated:
    """Make a new secret, shown once; the old one works for ``grace_minutes`` more."""
    async with request.state.pool.acquire() as conn:
        rotated = await sources.rotate_secret(
            conn=conn,
            keyring=request.state.keyring,
            name=name,
            grace=timedelta(minutes=body.grace_minutes),
        )
    if rotated is None:
        raise Problem(404, f"no source {name!r}")
    state_of(request.state.resources).sources.forget(name)
    return SecretRotated(secret=rotated[0], previous_expire_at=rotated[1])
