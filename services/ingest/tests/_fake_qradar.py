"""A local fake QRadar console that follows IBM's REST API, for the poller's tests.

It follows the IBM QRadar API reference: ``GET /api/siem/offenses`` with ``filter``, ``sort``
and a ``Range: items=x-y`` header answered with ``Content-Range``; the ``SEC`` token header;
``GET /api/siem/source_addresses`` and ``/api/siem/local_destination_addresses`` with
``filter=id in (...)`` and ``fields``.

Filters follow IBM's filter syntax (comparisons ``= != <> < > <= >=``, ``in (...)``, ``and``,
``or``, ``not`` and parentheses, on the fields the endpoint marks filterable) and sorts IBM's
sort syntax (``+field`` / ``-field``, comma separated, on sortable fields). Anything else is
answered as the endpoint documents it: 422 with unique code 1010 ("The filter parameter is not
valid") or 1030 ("The sort field or order is not valid"), in IBM's error message format.
Every request must name a ``Version`` the console supports; the versions asked are recorded.

References: https://ibmsecuritydocs.github.io/qradar_api_20.0/20.0--siem-offenses-GET.html
(the same table in 12.0-14.0), .../qradar_api_overview/c_rest_api_filtering.html,
.../c_rest_api_sortsyntax.html, .../c_rest_api_errors.html and
.../c_rest_api_getting_started.html (QRadar 7.5.0 UP6 supports API versions 20.0, 19.0, 18.0).
"""

from __future__ import annotations

import asyncio
import contextlib
import operator
import re
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI, Header, Request
from fastapi.responses import JSONResponse

TOKEN = "f3b2c1d0-aaaa-bbbb-cccc-000000000001"
SUPPORTED_VERSIONS = ("20.0", "19.0", "18.0")
FILTERABLE = {"id", "last_updated_time", "start_time", "magnitude", "status", "offense_type"}
SORTABLE = {"id", "last_updated_time", "start_time", "magnitude"}

_TOKEN = re.compile(
    r"\s*(?:(?P<num>-?\d+)|(?P<str>\"[^\"]*\"|'[^']*')|(?P<op>!=|<>|<=|>=|=|<|>)"
    r"|(?P<paren>[(),])|(?P<word>[A-Za-z_][A-Za-z0-9_]*))"
)
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<>": operator.ne,
    "<": operator.lt,
    ">": operator.gt,
    "<=": operator.le,
    ">=": operator.ge,
}
Predicate = Callable[[dict[str, Any]], bool]


class BadQuery(ValueError):
    """A filter or sort the real API would refuse with 422."""


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise BadQuery(f"unexpected text at {position}: {text[position : position + 10]!r}")
        kind = match.lastgroup
        assert kind is not None
        out.append((kind, match[kind]))
        position = match.end()
    return out


def parse_filter(text: str) -> Predicate:
    """A predicate for an IBM filter expression; BadQuery for anything the API refuses."""
    tokens = _tokens(text)
    if not tokens:
        return lambda _o: True
    at = 0

    def peek() -> tuple[str, str] | None:
        return tokens[at] if at < len(tokens) else None

    def take() -> tuple[str, str]:
        nonlocal at
        if at >= len(tokens):
            raise BadQuery("the filter ends too early")
        at += 1
        return tokens[at - 1]

    def value() -> Any:
        kind, text_ = take()
        if kind == "num":
            return int(text_)
        if kind == "str":
            return text_[1:-1]
        raise BadQuery(f"{text_!r} is not a value")

    def factor() -> Predicate:
        kind, word = take()
        if kind == "paren" and word == "(":
            inner = expression()
            if take() != ("paren", ")"):
                raise BadQuery("a '(' is not closed")
            return inner
        if kind == "word" and word.lower() == "not":
            negated = factor()
            return lambda o: not negated(o)
        if kind != "word" or word not in FILTERABLE:
            raise BadQuery(f"{word!r} is not a filterable field")
        field = word
        kind, op = take()
        if kind == "word" and op.lower() == "in":
            if take() != ("paren", "("):
                raise BadQuery("'in' needs a list")
            values = [value()]
            while peek() == ("paren", ","):
                take()
                values.append(value())
            if take() != ("paren", ")"):
                raise BadQuery("an 'in' list is not closed")
            return lambda o: o.get(field) in values
        if kind != "op":
            raise BadQuery(f"{op!r} is not an operator")
        compare, bound = _COMPARE[op], value()
        return lambda o: o.get(field) is not None and compare(o.get(field), bound)

    def term() -> Predicate:
        parts = [factor()]
        while (nxt := peek()) is not None and nxt[0] == "word" and nxt[1].lower() == "and":
            take()
            parts.append(factor())
        return lambda o: all(p(o) for p in parts)

    def expression() -> Predicate:
        parts = [term()]
        while (nxt := peek()) is not None and nxt[0] == "word" and nxt[1].lower() == "or":
            take()
            parts.append(term())
        return lambda o: any(p(o) for p in parts)

    predicate = expression()
    if at != len(tokens):
        raise BadQuery(f"unexpected {tokens[at][1]!r}")
    return predicate


def parse_sort(text: str) -> list[tuple[str, bool]]:
    """``(field, descending)`` pairs of an IBM sort; BadQuery for a field or order refused."""
    out: list[tuple[str, bool]] = []
    for part in text.split(",") if text.strip() else []:
        part = part.strip()
        if not part or part[0] not in "+-" or part[1:] not in SORTABLE:
            raise BadQuery(f"{part!r} is not a sortable field with + or -")
        out.append((part[1:], part[0] == "-"))
    return out


def _ibm_error(status: int, code: int, message: str, description: str) -> JSONResponse:
    phrase = {
        401: "You are unauthorized to access the requested resource.",
        406: "The requested version is not supported.",
        422: "The request was well-formed but was unable to be followed due to semantic errors.",
    }[status]
    return JSONResponse(
        {
            "http_response": {"code": status, "message": phrase},
            "code": code,
            "message": message,
            "description": description,
            "details": {},
        },
        status_code=status,
    )


class FakeQRadar:
    """Offenses, addresses and a log of what was asked."""

    def __init__(self) -> None:
        self.offenses: list[dict[str, Any]] = []
        self.source_addresses = {17: "192.0.2.44", 18: "192.0.2.45"}
        self.destination_addresses = {3: "10.1.2.3"}
        self.filters: list[str] = []
        self.sorts: list[str] = []
        self.versions: list[str | None] = []
        self.after_each_page: Callable[[int], None] | None = None
        self.pages_served = 0
        self.in_flight = 0
        self.most_in_flight = 0
        self.app = self._build()

    def _build(self) -> FastAPI:
        app = FastAPI()

        def unauthorized() -> JSONResponse:
            return JSONResponse(
                {
                    "http_response": {
                        "code": 401,
                        "message": "You are unauthorized to access the requested resource.",
                    },
                    "code": 13,
                    "message": "No SEC header present in request. Please provide it and try again.",
                    "description": "",
                    "details": {},
                },
                status_code=401,
            )

        @app.middleware("http")
        async def version(request: Request, call_next: Any) -> Any:
            asked = request.headers.get("version")
            self.versions.append(asked)
            if asked is not None and asked not in SUPPORTED_VERSIONS:
                return _ibm_error(
                    406, 1, f"Version {asked} is not supported", "Supported: 20.0, 19.0, 18.0"
                )
            return await call_next(request)

        @app.get("/api/siem/offenses")
        async def offenses(
            request: Request,
            filter: str = "",
            sort: str = "",
            sec: str | None = Header(default=None),
            range_: str | None = Header(default=None, alias="Range"),
        ) -> Any:
            if sec != TOKEN:
                return unauthorized()
            self.filters.append(filter)
            self.sorts.append(sort)
            try:
                keep = parse_filter(filter)
            except BadQuery as exc:
                return _ibm_error(422, 1010, str(exc), "The filter parameter is not valid.")
            try:
                order = parse_sort(sort)
            except BadQuery as exc:
                return _ibm_error(422, 1030, str(exc), "The sort field or order is not valid")
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            try:
                await asyncio.sleep(0.1)
                found = [o for o in self.offenses if keep(o)]
                for field, descending in reversed(order):
                    found.sort(key=lambda o, f=field: o[f], reverse=descending)
                start, end = 0, len(found) - 1
                if range_:
                    items = re.fullmatch(r"items=(\d+)-(\d+)", range_)
                    if not items:
                        return _ibm_error(422, 1005, range_, "A request parameter is not valid.")
                    start, end = int(items[1]), int(items[2])
                page = found[start : end + 1]
                headers = {
                    "Content-Range": f"items {start}-{start + max(len(page) - 1, 0)}/{len(found)}"
                }
                self.pages_served += 1
                if self.after_each_page is not None:
                    self.after_each_page(self.pages_served)
                return JSONResponse(page, headers=headers)
            finally:
                self.in_flight -= 1

        def by_ids(table: dict[int, str], field: str, filter_: str, fields: str) -> Any:
            ids = [int(i) for i in re.findall(r"\d+", filter_)]
            assert fields == f"id,{field}"
            return [{"id": i, field: table[i]} for i in ids if i in table]

        @app.get("/api/siem/source_addresses")
        async def source_addresses(
            filter: str, fields: str, sec: str | None = Header(default=None)
        ) -> Any:
            if sec != TOKEN:
                return unauthorized()
            return by_ids(self.source_addresses, "source_ip", filter, fields)

        @app.get("/api/siem/local_destination_addresses")
        async def destinations(
            filter: str, fields: str, sec: str | None = Header(default=None)
        ) -> Any:
            if sec != TOKEN:
                return unauthorized()
            return by_ids(self.destination_addresses, "local_destination_ip", filter, fields)

        return app


def offense(offense_id: int, updated_ms: int, magnitude: int = 5) -> dict[str, Any]:
    return {
        "id": offense_id,
        "description": f"Offense number {offense_id}\n",
        "magnitude": magnitude,
        "severity": 6,
        "credibility": 4,
        "relevance": 5,
        "offense_type": 0,
        "offense_source": "192.0.2.44",
        "categories": ["Suspicious Activity"],
        "source_address_ids": [17, 18],
        "local_destination_address_ids": [3],
        "start_time": updated_ms - 60_000,
        "last_updated_time": updated_ms,
        "status": "OPEN",
        "event_count": 3,
    }


@pytest.fixture
async def fake_qradar() -> AsyncIterator[tuple[FakeQRadar, str]]:
    fake = FakeQRadar()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(fake.app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    for _ in range(100):
        if server.started:
            break
        await asyncio.sleep(0.05)
    yield fake, f"http://127.0.0.1:{port}"
    server.should_exit = True
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(task, 10)
