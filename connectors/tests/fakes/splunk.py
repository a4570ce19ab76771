"""A fake Splunk search head: the search jobs REST API on the management port.

Follows Splunk's published documentation:
- "Creating searches using the REST API" —
  https://help.splunk.com/en/splunk-enterprise/leverage-rest-apis/rest-api-tutorials/9.0/rest-api-tutorials/creating-searches-using-the-rest-api
  (``POST /services/search/jobs`` with ``search``, ``earliest_time``, ``latest_time`` answers
  201 and a ``sid``; ``GET /services/search/jobs/{sid}`` has ``dispatchState`` QUEUED,
  PARSING, RUNNING, DONE or FAILED; ``GET /services/search/jobs/{sid}/results`` with
  ``output_mode=json``, ``offset`` and ``count``; ``POST .../control`` ``action=cancel``)
- "Export data using the Splunk REST API" —
  https://help.splunk.com/splunk-enterprise/search/search-manual/9.0/export-search-results/export-data-using-the-splunk-rest-api
- Errors come as ``{"messages": [{"type": "ERROR"|"WARN", "text"}]}``: 401 "call not properly
  authenticated", 503 when the concurrent search quota is reached.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


def messages(status: int, kind: str, text: str) -> JSONResponse:
    return JSONResponse({"messages": [{"type": kind, "text": text}]}, status_code=status)


@dataclass
class FakeSplunk:
    """Searches by their text, the rows each returns, jobs, and the accepted token."""

    token: str = "splunk-auth-token-0123456789"
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    polls_until_done: int = 2
    fail: set[str] = field(default_factory=set)
    busy: bool = False
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    result_requests: list[tuple[int, int]] = field(default_factory=list)

    def app(self) -> Starlette:
        def refused(request: Request) -> Response | None:
            if request.headers.get("authorization") != f"Bearer {self.token}":
                return messages(401, "WARN", "call not properly authenticated")
            return None

        async def create(request: Request) -> Response:
            if (no := refused(request)) is not None:
                return no
            if self.busy:
                return messages(
                    503,
                    "ERROR",
                    "Search not executed: The maximum number of concurrent "
                    "historical searches for this user based on their role quota has been reached.",
                )
            form = dict(parse_qsl((await request.body()).decode()))
            search = form.get("search", "")
            if not search.startswith(("search ", "|")):
                return messages(400, "FATAL", "Unknown search command")
            sid = f"{uuid.uuid4().int % 10**10}.{len(self.jobs)}"
            self.jobs[sid] = {"search": search, "polls": 0, "form": form, "cancelled": False}
            return JSONResponse({"sid": sid}, status_code=201)

        async def job(request: Request) -> Response:
            if (no := refused(request)) is not None:
                return no
            found = self.jobs.get(request.path_params["sid"])
            if found is None:
                return messages(404, "FATAL", f"Unknown sid: {request.path_params['sid']}")
            found["polls"] += 1
            text = found["search"].removeprefix("search ")
            state = "RUNNING" if found["polls"] < self.polls_until_done else "DONE"
            content: dict[str, Any] = {"dispatchState": state, "isFailed": False, "messages": []}
            if text in self.fail:
                content.update(
                    dispatchState="FAILED",
                    isFailed=True,
                    messages=[{"type": "FATAL", "text": "Error in 'search' command: bad field"}],
                )
            content["resultCount"] = len(self.rows.get(text, []))
            return JSONResponse({"entry": [{"name": found["search"], "content": content}]})

        async def results(request: Request) -> Response:
            if (no := refused(request)) is not None:
                return no
            found = self.jobs.get(request.path_params["sid"])
            if found is None:
                return messages(404, "FATAL", f"Unknown sid: {request.path_params['sid']}")
            offset = int(request.query_params.get("offset", "0"))
            count = int(request.query_params.get("count", "100"))
            self.result_requests.append((offset, count))
            rows = self.rows.get(found["search"].removeprefix("search "), [])
            return JSONResponse(
                {"preview": False, "init_offset": offset, "results": rows[offset : offset + count]}
            )

        async def control(request: Request) -> Response:
            if (no := refused(request)) is not None:
                return no
            found = self.jobs.get(request.path_params["sid"])
            if found is None:
                return messages(404, "FATAL", "Unknown sid")
            found["cancelled"] = True
            return messages(200, "INFO", "Search job cancelled.")

        async def info(request: Request) -> Response:
            if (no := refused(request)) is not None:
                return no
            return JSONResponse(
                {"entry": [{"content": {"serverName": "splunk-test", "version": "9.2.1"}}]}
            )

        return Starlette(
            routes=[
                Route("/services/search/jobs", create, methods=["POST"]),
                Route("/services/search/jobs/{sid}", job, methods=["GET"]),
                Route("/services/search/jobs/{sid}/results", results, methods=["GET"]),
                Route("/services/search/jobs/{sid}/control", control, methods=["POST"]),
                Route("/services/server/info", info, methods=["GET"]),
            ]
        )
