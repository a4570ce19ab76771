"""Routes every Rampart process serves: probes, metrics, tokens, dead letters, AsyncAPI."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field

from rampart.core.asyncapi import asyncapi_document
from rampart.core.auth import (
    CurrentPrincipal,
    Principal,
    Role,
    create_token,
    list_tokens,
    require_roles,
    revoke_token,
)
from rampart.core.problems import Problem
from rampart.core.store import is_reachable

probes_router = APIRouter(tags=["probes"])
platform_router = APIRouter(tags=["platform"])

Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN))]


@probes_router.get("/healthz", summary="Liveness: the process answers")
async def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@probes_router.get("/readyz", summary="Readiness: the database and the bus answer")
async def readyz(request: Request, response: Response) -> dict[str, Any]:
    """Ready when the database answers and the bus is connected; 503 otherwise."""
    state: Any = request.state
    checks = {
        "database": await is_reachable(state.pool),
        "bus": await state.bus.is_ready(),
    }
    ready = all(checks.values())
    response.status_code = 200 if ready else 503
    return {"status": "ready" if ready else "not ready", "checks": checks}


@probes_router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    """Metrics in the Prometheus text format."""
    registry = request.state.metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


@platform_router.get("/asyncapi.json", summary="AsyncAPI 3 document of the bus messages")
async def asyncapi(request: Request, _who: CurrentPrincipal) -> dict[str, Any]:
    """Every message type on the bus with its schema."""
    return asyncapi_document(exchange=request.state.settings.bus_namespace)


class TokenCreate(BaseModel):
    """A token to create."""

    name: str = Field(min_length=1, max_length=200)
    role: Role
    subject: str | None = Field(default=None, max_length=200)


class TokenPublic(BaseModel):
    """A token as listed; the secret is never shown again."""

    id: UUID
    name: str
    role: Role
    subject: str | None
    created_at: datetime
    revoked_at: datetime | None


class TokenCreated(TokenPublic):
    """A new token, with its secret shown this once."""

    token: str


@platform_router.post("/tokens", status_code=201, summary="Create an API token (admin)")
async def post_token(request: Request, body: TokenCreate, _admin: Admin) -> TokenCreated:
    """Create a token; its secret is in this response only."""
    async with request.state.pool.acquire() as conn:
        info, secret = await create_token(
            conn=conn, name=body.name, role=body.role, subject=body.subject
        )
    return TokenCreated(token=secret, **_fields(info))


@platform_router.get("/tokens", summary="List API tokens (admin)")
async def get_tokens(request: Request, _admin: Admin) -> list[TokenPublic]:
    """Every token without its secret."""
    async with request.state.pool.acquire() as conn:
        return [TokenPublic(**_fields(t)) for t in await list_tokens(conn=conn)]


@platform_router.delete("/tokens/{token_id}", status_code=204, summary="Revoke a token (admin)")
async def delete_token(request: Request, token_id: UUID, _admin: Admin) -> Response:
    """Revoke a token; it stops working within seconds."""
    async with request.state.pool.acquire() as conn:
        if not await revoke_token(conn=conn, token_id=token_id):
            raise Problem(404, f"no live token {token_id}")
    return Response(status_code=204)


def _fields(info: Any) -> dict[str, Any]:
    return {name: getattr(info, name) for name in info.__slots__}


class DeadLetterPublic(BaseModel):
    """A dead-lettered message and why it died."""

    queue: str
    message_id: str
    type: str | None
    reason: str
    dead_lettered_at: datetime | None
    body: str


def _known_queue(request: Request, queue: str) -> str:
    known = {name for spec in request.state.specs for name in spec.queue_names}
    if queue not in known:
        raise Problem(404, f"no queue {queue!r}; known: {', '.join(sorted(known)) or 'none'}")
    return queue


@platform_router.get("/dead-letters/{queue}", summary="List a queue's dead letters (admin)")
async def get_dead_letters(
    request: Request,
    queue: str,
    _admin: Admin,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[DeadLetterPublic]:
    """Dead letters of one of this process's queues, oldest first, left in place."""
    letters = await request.state.bus.dead_letters(_known_queue(request, queue), limit=limit)
    return [
        DeadLetterPublic(
            queue=d.queue,
            message_id=d.message_id,
            type=d.type,
            reason=d.reason,
            dead_lettered_at=d.dead_lettered_at,
            body=d.body.decode("utf-8", "replace"),
        )
        for d in letters
    ]


@platform_router.post("/dead-letters/{queue}/replay", summary="Replay dead letters (admin)")
async def replay_dead_letters(
    request: Request,
    queue: str,
    _admin: Admin,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, int]:
    """Send up to ``limit`` dead letters back to their queue."""
    count = await request.state.bus.replay_dead_letters(_known_queue(request, queue), limit=limit)
    return {"replayed": count}
