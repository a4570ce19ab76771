"""A fake Microsoft identity platform token endpoint and Microsoft Graph users API.

Follows Microsoft's published documentation:
- "Microsoft identity platform and the OAuth 2.0 client credentials flow" —
  https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow
  (``POST /{tenant}/oauth2/v2.0/token`` with ``grant_type=client_credentials``,
  ``client_id``, ``client_secret``, ``scope=https://graph.microsoft.com/.default``; errors
  ``invalid_client`` with an ``AADSTS`` ``error_description``)
- "Update user" — https://learn.microsoft.com/graph/api/user-update (``PATCH /v1.0/users/{id}``
  with ``accountEnabled``, 204 No Content; the id may be the userPrincipalName)
- "user: revokeSignInSessions" (``POST /v1.0/users/{id}/revokeSignInSessions``, 200 with
  ``{"value": true}``)
- "Microsoft Graph error responses and resource types" — https://learn.microsoft.com/graph/errors
  (``{"error": {"code", "message", "innerError"}}``; 401 ``InvalidAuthenticationToken``,
  404 ``Request_ResourceNotFound``, 429 ``TooManyRequests`` with ``Retry-After``)
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


def graph_error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(
        {
            "error": {
                "code": code,
                "message": message,
                "innerError": {"request-id": str(uuid.uuid4())},
            }
        },
        status_code=status,
    )


@dataclass
class FakeEntra:
    """One tenant: an app registration, its users, tokens issued, a throttle to trip."""

    tenant: str = "contoso.onmicrosoft.com"
    client_id: str = "11111111-2222-3333-4444-555555555555"
    client_secret: str = "graph-client-secret-value"
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    tokens: set[str] = field(default_factory=set)
    throttle: int = 0
    retry_after: int = 17
    requests: list[str] = field(default_factory=list)
    revoked: list[str] = field(default_factory=list)

    def add_user(self, upn: str, enabled: bool = True) -> str:
        user_id = str(uuid.uuid4())
        self.users[user_id] = {"id": user_id, "userPrincipalName": upn, "accountEnabled": enabled}
        return user_id

    def find(self, key: str) -> dict[str, Any] | None:
        return self.users.get(key) or next(
            (u for u in self.users.values() if u["userPrincipalName"].lower() == key.lower()), None
        )

    def app(self) -> Starlette:
        async def token(request: Request) -> Response:
            form = dict(parse_qsl((await request.body()).decode()))
            if request.path_params["tenant"] != self.tenant:
                return JSONResponse(
                    {
                        "error": "invalid_request",
                        "error_description": "AADSTS90002: Tenant not found.",
                    },
                    status_code=400,
                )
            if form.get("grant_type") != "client_credentials":
                return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
            if (
                form.get("client_id") != self.client_id
                or form.get("client_secret") != self.client_secret
            ):
                return JSONResponse(
                    {
                        "error": "invalid_client",
                        "error_description": "AADSTS7000215: Invalid client secret provided. "
                        "Ensure the secret being sent in the request is the client secret value.",
                    },
                    status_code=401,
                )
            issued = f"eyJ0eXAi.{uuid.uuid4().hex}"
            self.tokens.add(issued)
            return JSONResponse(
                {"token_type": "Bearer", "expires_in": 3599, "access_token": issued}
            )

        def guard(request: Request) -> Response | None:
            self.requests.append(f"{request.method} {request.url.path}")
            bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
            if bearer not in self.tokens:
                return graph_error(401, "InvalidAuthenticationToken", "Access token is empty.")
            if self.throttle > 0:
                self.throttle -= 1
                answer = graph_error(429, "TooManyRequests", "Too many requests. Retry later.")
                answer.headers["Retry-After"] = str(self.retry_after)
                return answer
            return None

        def missing(key: str) -> Response:
            return graph_error(
                404,
                "Request_ResourceNotFound",
                f"Resource '{key}' does not exist or one of its queried reference-property "
                "objects are not present.",
            )

        async def user(request: Request) -> Response:
            if (refused := guard(request)) is not None:
                return refused
            found = self.find(request.path_params["key"])
            if found is None:
                return missing(request.path_params["key"])
            if request.method == "PATCH":
                body = await request.json()
                unknown = set(body) - {"accountEnabled", "displayName"}
                if unknown or not isinstance(body.get("accountEnabled", True), bool):
                    return graph_error(400, "Request_BadRequest", "Invalid property values.")
                found.update(body)
                return Response(status_code=204)
            return JSONResponse(
                {
                    "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users/$entity",
                    **found,
                }
            )

        async def revoke(request: Request) -> Response:
            if (refused := guard(request)) is not None:
                return refused
            found = self.find(request.path_params["key"])
            if found is None:
                return missing(request.path_params["key"])
            self.revoked.append(found["id"])
            return JSONResponse({"value": True})

        async def users(request: Request) -> Response:
            if (refused := guard(request)) is not None:
                return refused
            top = int(request.query_params.get("$top", "100"))
            return JSONResponse(
                {"value": [{"id": u["id"]} for u in list(self.users.values())[:top]]}
            )

        return Starlette(
            routes=[
                Route("/{tenant}/oauth2/v2.0/token", token, methods=["POST"]),
                Route("/v1.0/users", users, methods=["GET"]),
                Route("/v1.0/users/{key}", user, methods=["GET", "PATCH"]),
                Route("/v1.0/users/{key}/revokeSignInSessions", revoke, methods=["POST"]),
            ]
        )
