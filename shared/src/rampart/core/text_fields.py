"""NUL characters are refused in every string an API route receives (422, naming the field).

PostgreSQL's ``text`` and ``jsonb`` cannot hold U+0000, so a NUL that reached a query would be
a database error (a 500) rather than the caller's mistake. The check runs as a dependency of
every FastAPI route, before the route's own validation: path and query parameters, the keys
and strings of a JSON body at any depth, and the fields of a form. The ingest webhook is a
plain route outside it: ingest paths clean what senders send instead of refusing it.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request

from rampart.core.problems import Problem

NUL = "\x00"


def nul_path(value: Any, path: str) -> str | None:
    """The dotted path of the first string (or key) under ``value`` holding a NUL, or None."""
    if isinstance(value, str):
        return path if NUL in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            if NUL in str(key):
                return f"{path}.{key.replace(NUL, '')}"
            found = nul_path(item, f"{path}.{key}")
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = nul_path(item, f"{path}.{index}")
            if found is not None:
                return found
    return None


def _refuse(field: str) -> Problem:
    return Problem(
        422,
        f"{field}: NUL characters are not accepted",
        title="Invalid input",
        errors=[{"field": field, "message": "NUL characters are not accepted"}],
        field=field,
    )


async def refuse_nul(request: Request) -> None:
    """Answer 422 when a parameter, or a string anywhere in the body, holds a NUL character."""
    for name, value in request.path_params.items():
        if NUL in str(value):
            raise _refuse(f"path.{name}")
    for name, value in request.query_params.multi_items():
        if NUL in name or NUL in value:
            raise _refuse(f"query.{name.replace(NUL, '')}")
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    body = await request.body()
    # a JSON NUL is the escape \u0000; a form's is %00; only then is the body read again
    if b"\\u0000" in body:
        try:
            parsed = json.loads(body)
        except ValueError:
            return  # not JSON: the route's own parsing answers for it
        found = nul_path(parsed, "body")
        if found is not None:
            raise _refuse(found)
    elif b"%00" in body or b"\x00" in body:
        try:
            fields = parse_qsl(body.decode("utf-8"), keep_blank_values=True)
        except (UnicodeDecodeError, ValueError):
            return
        for name, value in fields:
            if NUL in name or NUL in value:
                raise _refuse(f"body.{name.replace(NUL, '')}")
