"""OAuth 2.0 client credentials (RFC 6749 4.4) as an ``httpx.Auth`` for :func:`product_client`.

```python
auth = ClientCredentials(token_url, client_id, client_secret, scope)
async with product_client(ctx, base_url, auth=auth, secrets=[client_secret]) as api:
    await api.get_json("/v1.0/users")      # a bearer token is fetched, cached and renewed
```

The token request goes through the same client (so a test's transport serves it too). A
refused token request is an :class:`ActionError` with the authorization server's own
``error_description``; a 429 or 5xx from it is a :class:`TargetUnavailable`. A token is kept
until shortly before its ``expires_in`` and fetched anew once when the product answers 401.
The client secret never reaches a message: it is sent only in the token request's form body.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Generator

import httpx
from pydantic import SecretStr

from rampart.sdk.connector._errors import ActionError, TargetUnavailable
from rampart.sdk.connector._http import retry_after_seconds

__all__ = ["ClientCredentials"]

_EARLY_S = 60.0  # renew this long before the token's stated expiry


class ClientCredentials(httpx.Auth):
    """Bearer tokens from a token endpoint, by the client credentials grant."""

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str | SecretStr,
        scope: str | None = None,
    ) -> None:
        self.token_url = token_url
        self.client_id = client_id
        self._secret = (
            client_secret if isinstance(client_secret, SecretStr) else SecretStr(client_secret)
        )
        self.scope = scope
        self._token: str | None = None
        self._expires_at = 0.0

    def _token_request(self) -> httpx.Request:
        form = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self._secret.get_secret_value(),
        }
        if self.scope:
            form["scope"] = self.scope
        return httpx.Request(
            "POST", self.token_url, data=form, headers={"Accept": "application/json"}
        )

    def _take(self, response: httpx.Response) -> None:
        """Keep the token of a token response, or raise what its refusal means."""
        where = f"the token endpoint {httpx.URL(self.token_url).copy_with(query=None)}"
        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        if status == 429 or status >= 500:
            raise TargetUnavailable(
                f"{where} answered {status}",
                retry_after=retry_after_seconds(response.headers.get("retry-after")),
            )
        if status >= 400 or not isinstance(body.get("access_token"), str):
            words = body.get("error_description") or body.get("error") or "no access_token"
            secret = self._secret.get_secret_value()
            text = str(words).replace(secret, "***") if secret else str(words)
            raise ActionError(f"{where} refused the client credentials ({status}): {text[:500]}")
        self._token = body["access_token"]
        lifetime = body.get("expires_in")
        seconds = float(lifetime) if isinstance(lifetime, int | float | str) else 3600.0
        self._expires_at = time.monotonic() + max(0.0, seconds - _EARLY_S)

    def _valid(self) -> bool:
        return self._token is not None and time.monotonic() < self._expires_at

    def _authorize(self, request: httpx.Request) -> httpx.Request:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        """Connectors are asynchronous; the synchronous flow is not offered."""
        raise RuntimeError("ClientCredentials works with httpx.AsyncClient only")
        yield request  # pragma: no cover

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        """Add a bearer token, fetching it first if none is valid; renew once on a 401."""
        if not self._valid():
            token_response = yield self._token_request()
            await token_response.aread()
            self._take(token_response)
        response = yield self._authorize(request)
        if response.status_code == 401:
            token_response = yield self._token_request()
            await token_response.aread()
            self._take(token_response)
            yield self._authorize(request)
