"""OAuth 2.0 client credentials: a refused grant and a busy token endpoint.

Renewal and caching are tested in test_connector_oauth.py.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from rampart.sdk.connector import (
    ActionContext,
    ActionError,
    ClientCredentials,
    TargetUnavailable,
    product_client,
)

SECRET = "s3cret-value-123"
TOKEN_URL = "https://login.example/tenant/oauth2/v2.0/token"


class AuthServer:
    """A token endpoint and an API that wants its bearer token."""

    def __init__(self, *, token_status: int = 200, expires_in: int = 3600) -> None:
        self.token_status = token_status
        self.expires_in = expires_in
        self.issued = 0
        self.forms: list[dict[str, str]] = []
        self.revoked: set[str] = set()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/token"):
            form = dict(httpx.QueryParams(request.content.decode()))
            self.forms.append(form)
            if self.token_status == 429:
                return httpx.Response(429, headers={"Retry-After": "9"})
            if self.token_status != 200 or form.get("client_secret") != SECRET:
                return httpx.Response(
                    401,
                    json={
                        "error": "invalid_client",
                        "error_description": "AADSTS7000215: Invalid client secret "
                        + str(form.get("client_secret")),
                    },
                )
            self.issued += 1
            return httpx.Response(
                200,
                json={
                    "access_token": f"tok-{self.issued}",
                    "token_type": "Bearer",
                    "expires_in": self.expires_in,
                },
            )
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if not token.startswith("tok-") or token in self.revoked:
            return httpx.Response(401, json={"error": {"code": "InvalidAuthenticationToken"}})
        return httpx.Response(200, json={"token": token})


def _ctx(server: AuthServer) -> ActionContext:
    def factory(**options: Any) -> httpx.AsyncClient:
        options.pop("verify", None)
        return httpx.AsyncClient(**options, transport=httpx.MockTransport(server))

    return ActionContext(asset="graph", http=factory)


async def _get(server: AuthServer, auth: ClientCredentials, times: int = 1) -> list[Any]:
    out = []
    async with product_client(
        _ctx(server), "https://graph.example", auth=auth, secrets=[SECRET]
    ) as api:
        for _ in range(times):
            out.append(await api.get_json("/v1.0/me"))
    return out


async def test_a_token_is_fetched_once_and_reused() -> None:
    server = AuthServer()
    auth = ClientCredentials(TOKEN_URL, "app-id", SECRET, "https://graph.example/.default")
    assert await _get(server, auth, times=3) == [{"token": "tok-1"}] * 3
    assert server.issued == 1
    assert server.forms[0] == {
        "grant_type": "client_credentials",
        "client_id": "app-id",
        "client_secret": SECRET,
        "scope": "https://graph.example/.default",
    }


async def test_refused_credentials_are_an_action_error_without_the_secret() -> None:
    auth = ClientCredentials(TOKEN_URL, "app-id", "wrong-secret-456")
    with pytest.raises(ActionError) as caught:
        await _get(AuthServer(), auth)
    message = str(caught.value)
    assert "AADSTS7000215: Invalid client secret" in message
    assert "401" in message
    assert SECRET not in message
    assert "wrong-secret-456" not in message


async def test_a_busy_token_endpoint_is_transient_with_its_retry_after() -> None:
    with pytest.raises(TargetUnavailable) as caught:
        await _get(AuthServer(token_status=429), ClientCredentials(TOKEN_URL, "a", SECRET))
    assert caught.value.retry_after == 9.0
