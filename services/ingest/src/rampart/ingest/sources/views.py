"""HTTP routes of ingest sources (admin): create, read, change, delete, rotate the secret."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Response

from rampart.core.auth import Admin
from rampart.core.deps import Conn
from rampart.core.errors import NotFoundError
from rampart.ingest.sources import service
from rampart.ingest.sources.models import (
    NAME_PATTERN,
    SecretRotate,
    SecretRotated,
    SourceCreate,
    SourceCreated,
    SourcePublic,
    SourceUpdate,
)
from rampart.ingest.state import IngestDep

router = APIRouter(tags=["sources"])

SourceName = Annotated[str, Path(pattern=NAME_PATTERN)]


@router.post("/sources", status_code=201, summary="Create a source (admin)")
async def post_source(
    body: SourceCreate, conn: Conn, ingest: IngestDep, _admin: Admin
) -> SourceCreated:
    """Create a source; its secret is in this answer only."""
    made = await service.create(conn=conn, keyring=ingest.keyring, source=body)
    ingest.sources.forget(body.name)
    return made


@router.get("/sources", summary="List sources (admin)")
async def list_sources(conn: Conn, _admin: Admin) -> list[SourcePublic]:
    """Every source, without secrets."""
    return await service.list_all(conn=conn)


@router.get("/sources/{name}", summary="Get a source (admin)")
async def get_source(name: SourceName, conn: Conn, _admin: Admin) -> SourcePublic:
    """One source, without secrets."""
    found = await service.get(conn=conn, name=name)
    if found is None:
        raise NotFoundError(f"no source {name!r}")
    return found


@router.patch("/sources/{name}", summary="Change a source (admin)")
async def patch_source(
    name: SourceName, body: SourceUpdate, conn: Conn, ingest: IngestDep, _admin: Admin
) -> SourcePublic:
    """Change a source's settings; its kind and name stay."""
    changed = await service.update(conn=conn, keyring=ingest.keyring, name=name, changes=body)
    ingest.sources.forget(name)
    return changed


@router.delete("/sources/{name}", status_code=204, summary="Delete a source (admin)")
async def delete_source(name: SourceName, conn: Conn, ingest: IngestDep, _admin: Admin) -> Response:
    """Delete a source and its secrets; the events it sent stay."""
    await service.delete(conn=conn, name=name)
    ingest.sources.forget(name)
    return Response(status_code=204)


@router.post("/sources/{name}/rotate-secret", summary="Rotate a source's secret (admin)")
async def rotate_secret(
    name: SourceName, body: SecretRotate, conn: Conn, ingest: IngestDep, _admin: Admin
) -> SecretRotated:
    """Make a new secret, shown once; the old one works for ``grace_minutes`` more."""
    rotated = await service.rotate_secret(
        conn=conn, keyring=ingest.keyring, name=name, grace=timedelta(minutes=body.grace_minutes)
    )
    ingest.sources.forget(name)
    return rotated
