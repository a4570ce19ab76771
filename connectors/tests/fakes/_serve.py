"""What every fake shares: scripted faults (429, 5xx) and serving on a real TLS port.

``Faults`` answers the next requests to a path with a status of the test's choosing before
the fake's own routes see them — a rate limit with ``Retry-After``, a 503 — the way a busy
product answers. ``serve_tls`` runs a fake's app with uvicorn on a free loopback port over
HTTPS, with a throwaway CA whose PEM the test puts in the asset's ``tls.ca_bundle``, so the
connector's verified TLS path is the one exercised.
"""

from __future__ import annotations

import contextlib
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from connectors.tests._tls_fakes import make_tls, serve_https


@dataclass
class Fault:
    """``times`` answers of ``status`` to requests whose path starts with ``path``."""

    path: str
    status: int
    times: int = 1
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    media_type: str = "application/json"


@dataclass
class Faults:
    """Scripted failures a fake answers before its routes; ``seen`` counts answered ones."""

    pending: list[Fault] = field(default_factory=list)
    seen: list[tuple[str, int]] = field(default_factory=list)

    def add(self, path: str, status: int, *, times: int = 1, **options: Any) -> None:
        self.pending.append(Fault(path, status, times, **options))

    def take(self, path: str) -> Fault | None:
        for fault in self.pending:
            if path.startswith(fault.path) and fault.times > 0:
                fault.times -= 1
                self.seen.append((path, fault.status))
                return fault
        return None


def with_faults(app: ASGIApp, faults: Faults) -> ASGIApp:
    """``app`` behind the scripted faults."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            fault = faults.take(scope["path"])
            if fault is not None:
                response: Response
                if fault.media_type == "application/json":
                    response = JSONResponse(fault.body, fault.status, headers=fault.headers)
                else:
                    response = Response(
                        fault.body or "",
                        fault.status,
                        headers=fault.headers,
                        media_type=fault.media_type,
                    )
                await response(scope, receive, send)
                return
        await app(scope, receive, send)

    return wrapped


@dataclass(frozen=True)
class Served:
    """A fake listening on loopback: its base URL and the PEM of the CA that signed it."""

    url: str
    ca_pem: str


@contextlib.asynccontextmanager
async def serve_tls(app: ASGIApp, folder: Path) -> AsyncIterator[Served]:
    """Serve ``app`` over HTTPS on a free loopback port until the block ends."""
    tls = make_tls(folder)
    async with serve_https(app, tls) as url:
        yield Served(url, tls.ca_pem)


Handler = Callable[[Request], Awaitable[Response]]


async def form_of(request: Request) -> dict[str, str]:
    """The query parameters and an ``application/x-www-form-urlencoded`` body, merged."""
    fields = dict(request.query_params)
    if request.method in ("POST", "PUT", "PATCH"):
        body = (await request.body()).decode()
        fields.update(urllib.parse.parse_qsl(body, keep_blank_values=True))
    return fields
