"""A fake ServiceNow instance: the Table API on the incident table.

Follows ServiceNow's published documentation:
- "Update the incident" (REST API Explorer) —
  https://www.servicenow.com/docs/r/yokohama/api-reference/rest-api-explorer/get-started-update-incident.html
  (``PUT|PATCH /api/now/table/incident/{sys_id}``; records under ``result``)
- "REST API HTTP response codes" —
  https://raw.githubusercontent.com/ServiceNow/ServiceNowDocs/australia/markdown/api-reference/rest-api-explorer/r_RESTAPIHTTPResponseCodes.md
  (201 on create, 400, 401, 403, 404 with ``{"error": {"message", "detail"}, "status":
  "failure"}``)
- the Table API's ``POST /api/now/table/{table}``, ``GET`` with ``sysparm_query``
  (``field=value^ORfield=value``), ``sysparm_limit``, ``sysparm_fields``; basic auth; 429
  with ``Retry-After`` when the instance's rate limit rules are exceeded.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


def sn_error(status: int, message: str, detail: str = "") -> JSONResponse:
    return JSONResponse(
        {"error": {"message": message, "detail": detail}, "status": "failure"}, status_code=status
    )


@dataclass
class FakeServiceNow:
    """Records of the incident table, one user, and a rate limit to trip."""

    username: str = "rampart.integration"
    password: str = "sn-password-0123456789"
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    throttle: int = 0
    patches: list[dict[str, Any]] = field(default_factory=list)

    def app(self) -> Starlette:
        expected = "Basic " + base64.b64encode(f"{self.username}:{self.password}".encode()).decode()

        def refused(request: Request) -> Response | None:
            if request.headers.get("authorization") != expected:
                return sn_error(
                    401, "User Not Authenticated", "Required to provide Auth information"
                )
            if request.path_params.get("table") != "incident":
                return sn_error(
                    400, "Invalid table", f"Invalid table {request.path_params.get('table')}"
                )
            if self.throttle > 0:
                self.throttle -= 1
                answer = sn_error(429, "Rate limit exceeded", "Too many requests")
                answer.headers["Retry-After"] = "11"
                return answer
            return None

        async def table(request: Request) -> Response:
            if (no := refused(request)) is not None:
                return no
            if request.method == "POST":
                body = await request.json()
                sys_id = uuid.uuid4().hex
                record = {
                    "sys_id": sys_id,
                    "number": f"INC{10001 + len(self.records):07d}",
                    "state": "1",
                    **{k: str(v) for k, v in body.items()},
                }
                self.records[sys_id] = record
                return JSONResponse({"result": record}, status_code=201)
            query = request.query_params.get("sysparm_query", "")
            wanted = {
                part.split("=", 1)[1]
                for part in query.replace("^OR", "^").split("^")
                if "=" in part
            }
            rows = [
                r
                for r in self.records.values()
                if not wanted or {r["number"], r["sys_id"]} & wanted
            ]
            limit = int(request.query_params.get("sysparm_limit", "10000"))
            return JSONResponse({"result": rows[:limit]})

        async def record(request: Request) -> Response:
            if (no := refused(request)) is not None:
                return no
            found = self.records.get(request.path_params["sys_id"])
            if found is None:
                return sn_error(
                    404,
                    "No Record found",
                    "Record doesn't exist or ACL restricts the record retrieval",
                )
            body = await request.json()
            self.patches.append(body)
            for name, value in body.items():
                if name in ("work_notes", "comments"):
                    found.setdefault(f"_{name}", []).append(value)
                else:
                    found[name] = str(value)
            return JSONResponse(
                {"result": {k: v for k, v in found.items() if not k.startswith("_")}}
            )

        return Starlette(
            routes=[
                Route("/api/now/table/{table}", table, methods=["GET", "POST"]),
                Route("/api/now/table/{table}/{sys_id}", record, methods=["PATCH", "PUT"]),
            ]
        )
