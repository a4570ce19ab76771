"""ASGI middleware: request body size and JSON nesting limits, and the correlation id."""

from __future__ import annotations

import re
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rampart.core.ids import uuid7
from rampart.core.logs import correlation_id
from rampart.core.problems import problem_response

# A string literal, or the rest of the text when it is never closed. Possessive repeats and the
# optional closing quote mean a match, once started, never fails nor backtracks: every byte is
# looked at once, so a crafted body of unbalanced quotes and backslashes costs linear time.
_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+(?:\\|"?)', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def json_depth(body: bytes) -> int:
    """Deepest nesting of arrays and objects in a JSON text, without parsing it (linear time)."""
    brackets = _STRING.sub(b"", body).translate(None, _NOT_BRACKETS)
    depth = deepest = 0
    for byte in brackets:
        if byte in (0x5B, 0x7B):
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def parsed_as_json(content_type: str | bytes | None) -> bool:
    """Whether a body with this ``Content-Type`` is read as JSON by some route.

    FastAPI parses a body without a content type as JSON, and any media type naming JSON
    (``application/json``, ``*+json``), whatever its case; the ingest webhook does the same.
    The test is deliberately wider than either, so no spelling slips past the depth check.
    """
    if content_type is None:
        return True
    text = content_type.decode("latin-1") if isinstance(content_type, bytes) else content_type
    media = text.split(";", 1)[0].strip().lower()
    return media == "" or "json" in media


class RequestLimits:
    """Refuse bodies over ``max_bytes`` (413) and JSON nested deeper than ``max_depth`` (400)."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, max_depth: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_depth = max_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        raw_headers = scope.get("headers") or []
        headers = dict(raw_headers)
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_large(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._too_large(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        # every Content-Type header counts: routes read the first, a dict keeps the last
        types = [value for name, value in raw_headers if name.lower() == b"content-type"]
        as_json = not types or any(parsed_as_json(value) for value in types)
        if as_json and json_depth(body) > self.max_depth:
            response = problem_response(
                400,
                f"JSON nested deeper than {self.max_depth} levels",
                title="Body too deep",
                instance=scope.get("path"),
            )
            await response(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(
            413,
            f"request body is larger than {self.max_bytes} bytes",
            title="Body too large",
            instance=scope.get("path"),
        )
        await response(scope, receive, send)


class CorrelationId:
    """Take ``X-Correlation-ID`` from the request (or make one) and echo it in the response."""

    header = b"x-correlation-id"

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers") or []).get(self.header, b"").decode("latin-1")
        cid = given if 0 < len(given) <= 200 and given.isprintable() else str(uuid7())
        token = correlation_id.set(cid)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers: list[Any] = list(message.get("headers", []))
                headers.append((self.header, cid.encode("latin-1")))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            correlation_id.reset(token)
