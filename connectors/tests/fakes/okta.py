"""A fake Okta org: the Users lifecycle, Users and Groups management APIs.

Follows Okta's published API reference:
- "User Lifecycle" — https://developer.okta.com/docs/api/openapi/okta-management/management/tag/UserLifecycle
  (``POST /api/v1/users/{id}/lifecycle/suspend|unsuspend``; the id may be a login; suspend
  only an ACTIVE user, unsuspend only a SUSPENDED one, else 400 ``E0000001``)
- "Users API" — https://developer.okta.com/docs/reference/api/users/ (``GET /api/v1/users/{id}``,
  ``/api/v1/users/me``)
- Groups: ``GET /api/v1/groups?q=&limit=&after=``, ``PUT|DELETE /api/v1/groups/{g}/users/{u}``
  answering 204 (Okta Groups API, as summarised at
  https://developer.okta.com/okta-sdk-java/apidocs/com/okta/sdk/resource/api/GroupApi.html)
- "Okta error codes and descriptions" — https://developer.okta.com/docs/reference/error-codes/
  (``errorCode``, ``errorSummary``, ``errorLink``, ``errorId``, ``errorCauses``; E0000011
  invalid token 401, E0000007 not found 404, E0000047 rate limit 429)
- "Rate limit best practices" — https://developer.okta.com/docs/reference/rl-best-practices/
  (``X-Rate-Limit-Limit`` / ``-Remaining`` / ``-Reset`` in UTC epoch seconds on every answer)
- Pagination: ``Link: <...>; rel="next"`` with an ``after`` cursor.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

RATE_LIMIT = 600


def _error(status: int, code: str, summary: str) -> JSONResponse:
    return JSONResponse(
        {
            "errorCode": code,
            "errorSummary": summary,
            "errorLink": code,
            "errorId": f"oae{uuid.uuid4().hex[:20]}",
            "errorCauses": [],
        },
        status_code=status,
    )


@dataclass
class FakeOkta:
    """One org: its users, groups, token, and a rate limiter a test can trip."""

    token: str = "00okta-api-token-test"
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    members: dict[str, set[str]] = field(default_factory=dict)
    throttle: int = 0
    reset_in_s: int = 30
    page_size: int = 200
    requests: list[str] = field(default_factory=list)

    def add_user(self, login: str, status: str = "ACTIVE") -> str:
        user_id = f"00u{uuid.uuid4().hex[:17]}"
        self.users[user_id] = {
            "id": user_id,
            "status": status,
            "profile": {"login": login, "email": login},
            "_links": {},
        }
        return user_id

    def add_group(self, name: str) -> str:
        group_id = f"00g{uuid.uuid4().hex[:17]}"
        self.groups[group_id] = {"id": group_id, "type": "OKTA_GROUP", "profile": {"name": name}}
        self.members[group_id] = set()
        return group_id

    def find(self, key: str) -> dict[str, Any] | None:
        if key in self.users:
            return self.users[key]
        return next((u for u in self.users.values() if u["profile"]["login"] == key), None)

    def _headers(self, remaining: int) -> dict[str, str]:
        return {
            "X-Rate-Limit-Limit": str(RATE_LIMIT),
            "X-Rate-Limit-Remaining": str(remaining),
            "X-Rate-Limit-Reset": str(int(time.time()) + self.reset_in_s),
        }

    def app(self) -> Starlette:
        async def guard(request: Request) -> Response | None:
            self.requests.append(f"{request.method} {request.url.path}")
            if request.headers.get("authorization") != f"SSWS {self.token}":
                return _error(401, "E0000011", "Invalid token provided")
            if self.throttle > 0:
                self.throttle -= 1
                answer = _error(
                    429, "E0000047", "API call exceeded rate limit due to too many requests."
                )
                answer.headers.update(self._headers(0))
                return answer
            return None

        def respond(body: Any, status: int = 200) -> Response:
            answer: Response = (
                JSONResponse(body, status_code=status)
                if body is not None
                else Response(status_code=status)
            )
            answer.headers.update(self._headers(RATE_LIMIT - 1))
            return answer

        async def user(request: Request) -> Response:
            if (refused := await guard(request)) is not None:
                return refused
            key = request.path_params["key"]
            if key == "me":
                return respond(next(iter(self.users.values())))
            found = self.find(key)
            if found is None:
                return _error(404, "E0000007", f"Not found: Resource not found: {key} (User)")
            return respond(found)

        async def lifecycle(request: Request) -> Response:
            if (refused := await guard(request)) is not None:
                return refused
            found = self.find(request.path_params["key"])
            if found is None:
                key = request.path_params["key"]
                return _error(404, "E0000007", f"Not found: Resource not found: {key} (User)")
            operation = request.path_params["operation"]
            if operation == "suspend":
                if found["status"] != "ACTIVE":
                    return _error(
                        400,
                        "E0000001",
                        "Api validation failed: Cannot suspend a user that is not active",
                    )
                found["status"] = "SUSPENDED"
            elif operation == "unsuspend":
                if found["status"] != "SUSPENDED":
                    return _error(
                        400,
                        "E0000001",
                        "Api validation failed: Cannot unsuspend a user that is not suspended",
                    )
                found["status"] = "ACTIVE"
            else:
                return _error(
                    404, "E0000022", "The endpoint does not support the provided HTTP method"
                )
            return respond(None, 200)

        async def groups(request: Request) -> Response:
            if (refused := await guard(request)) is not None:
                return refused
            q = request.query_params.get("q", "")
            limit = min(int(request.query_params.get("limit", "200")), self.page_size)
            after = request.query_params.get("after")
            matching = sorted(
                (g for g in self.groups.values() if g["profile"]["name"].startswith(q)),
                key=lambda g: g["id"],
            )
            if after:
                matching = [g for g in matching if g["id"] > after]
            page = matching[:limit]
            answer = respond(page)
            if len(matching) > limit:
                base = str(request.base_url).rstrip("/")
                answer.headers["Link"] = (
                    f'<{base}/api/v1/groups?limit={limit}&q={q}>; rel="self", '
                    f'<{base}/api/v1/groups?after={page[-1]["id"]}&limit={limit}&q={q}>; rel="next"'
                )
            return answer

        async def membership(request: Request) -> Response:
            if (refused := await guard(request)) is not None:
                return refused
            group_id, user_id = request.path_params["group"], request.path_params["user"]
            if group_id not in self.groups:
                return _error(
                    404, "E0000007", f"Not found: Resource not found: {group_id} (UserGroup)"
                )
            if user_id not in self.users:
                return _error(404, "E0000007", f"Not found: Resource not found: {user_id} (User)")
            if request.method == "PUT":
                self.members[group_id].add(user_id)
            else:
                self.members[group_id].discard(user_id)
            return respond(None, 204)

        return Starlette(
            routes=[
                Route("/api/v1/users/{key}", user, methods=["GET"]),
                Route("/api/v1/users/{key}/lifecycle/{operation}", lifecycle, methods=["POST"]),
                Route("/api/v1/groups", groups, methods=["GET"]),
                Route("/api/v1/groups/{group}/users/{user}", membership, methods=["PUT", "DELETE"]),
            ]
        )
