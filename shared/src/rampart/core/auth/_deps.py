"""FastAPI dependencies: who is calling, and may they call this route."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import HTTPConnection

from rampart.core.auth._tokens import Principal, verify_token
from rampart.core.problems import Problem
from rampart.core.vocabulary import Role

_CACHE_SECONDS = 5.0
_CACHE_MAX = 10_000


class TokenCache:
    """A few seconds of memory for verified tokens: revocation takes effect within that time."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, Principal]] = {}

    def get(self, token: str) -> Principal | None:
        hit = self._entries.get(token)
        if hit is None or hit[0] < time.monotonic():
            return None
        return hit[1]

    def put(self, token: str, principal: Principal) -> None:
        if len(self._entries) >= _CACHE_MAX:
            self._entries.clear()
        self._entries[token] = (time.monotonic() + _CACHE_SECONDS, principal)


def _unauthorized(detail: str) -> Problem:
    return Problem(401, detail, headers={"WWW-Authenticate": 'Bearer realm="rampart"'})


_bearer = HTTPBearer(auto_error=False, description="a Rampart API token (rmp_...)")


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller behind the request's bearer token; 401 without a valid one."""
    if credentials is None or not credentials.credentials.strip():
        raise _unauthorized("a bearer token is required")
    principal = await _verified(request, credentials.credentials.strip())
    if principal is None:
        raise _unauthorized("the bearer token is not valid")
    return principal


async def _verified(request: HTTPConnection, token: str) -> Principal | None:
    """The token's principal from the cache, else from the store (the connection released
    before returning); None for a token that is not valid."""
    state: Any = request.state
    cache: TokenCache = state.token_cache
    principal = cache.get(token)
    if principal is None:
        async with state.pool.acquire() as conn:
            principal = await verify_token(conn=conn, token=token)
        if principal is not None:
            cache.put(token, principal)
    return principal


async def identify_caller(request: HTTPConnection) -> Principal | None:
    """Verify the request's bearer token, if any, holding no other connection of the request.

    The request's own connection (``Conn``) depends on this, so a route declaring
    ``conn: Conn`` before its role check never holds one connection while waiting for a
    second to verify the token: with every connection of the pool held that way (a burst
    of calls once a cached token expired), none would be left and every request would wait
    for ever. What the caller may do is still the route's role check's to decide.
    """
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return await _verified(request, token.strip())


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_roles(*roles: Role) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that lets through ``roles`` (and admin), 403 for anyone else."""
    allowed = {Role.ADMIN, *roles}

    async def check(principal: CurrentPrincipal) -> Principal:
        if principal.role not in allowed:
            names = ", ".join(sorted(r.value for r in allowed))
            raise Problem(403, f"this needs one of the roles: {names}")
        return principal

    return check


def new_token_cache() -> TokenCache:
    """A fresh cache for one application's lifespan state."""
    return TokenCache()
