"""OAuth2 client credentials (RFC 6749 4.4) for products that hand out bearer tokens.

```python
auth = ClientCredentials(f"{url}/oauth2/token", config.client_id, config.client_secret)
async with product_client(ctx, url, tls=config.tls, auth=auth,
                          secrets=[config.client_secret]) as api:
    devices = await api.get_json("/devices/queries/devices/v1")
```

A :class:`ClientCredentials` is an ``httpx.Auth``: the product client asks it for a token
before a request, through the same transport, TLS options and timeout as the product's own
requests. Tokens are cached per token URL, client, scope and secret for the life of the
process (a runner serves many actions), renewed shortly before they expire, and renewed once
more when the product answers 401 to a token it issued (revoked, or the product restarted);
a second 401 is the product's refusal, an :class:`ActionError` with its words.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import SecretStr

from rampart.sdk.connector._errors import ActionError
from rampart.sdk.connector._http import check_answer

__all__ = ["ClientCredentials", "TokenCache"]

_DEFAULT_LIFETIME_S = 300.0
_MAX_MARGIN_S = 60.0


@dataclass
class _Token:
    value: str
    expires_at: float
    margin: float


@dataclass
class TokenCache:
    """Access tokens by (token URL, client id, scope, secret digest); ``clock`` is monotonic."""

    clock: Callable[[], float] = time.monotonic
    _tokens: dict[tuple[str, str, str, str], _Token] = field(default_factory=dict)

    def get(self, key: tuple[str, str, str, str]) -> str | None:
        """A cached token that is not about to expire, or None."""
        token = self._tokens.get(key)
        if token is None or self.clock() >= token.expires_at - token.margin:
            return None
        return token.value

    def put(self, key: tuple[str, str, str, str], value: str, lifetime_s: float) -> None:
        """Keep a token for ``lifetime_s`` seconds, to be renewed a little before its end."""
        margin = min(_MAX_MARGIN_S, lifetime_s / 10)
        self._tokens[key] = _Token(value, self.clock() + lifetime_s, margin)

    def drop(self, key: tuple[str, str, str, str]) -> None:
        """Forget a token the product no longer accepts."""
        self._tokens.pop(key, None)


_PROCESS_CACHE = TokenCache()


class ClientCredentials(httpx.Auth):
    """Bearer tokens from an OAuth2 token endpoint, cached and renewed before they expire."""

    requires_response_body = True

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: SecretStr | str,
        scope: str | None = None,
        *,
        cache: TokenCache | None = None,
    ) -> None:
        secret = (
            client_secret.get_secret_value()
            if isinstance(client_secret, SecretStr)
            else client_secret
        )
        self.token_url = token_url
        self.client_id = client_id
        self.scope = scope
        self._secret = secret
        self._cache = cache or _PROCESS_CACHE
        digest = hashlib.sha256(secret.encode()).hexdigest()
        self._key = (token_url, client_id, scope or "", digest)

    def _redact(self, text: str) -> str:
        return text.replace(self._secret, "***") if len(self._secret) >= 4 else text

    def _token_request(self, like: httpx.Request) -> httpx.Request:
        form = {"grant_type": "client_credentials", "client_id": self.client_id}
        form["client_secret"] = self._secret
        if self.scope:
            form["scope"] = self.scope
        extensions = {k: v for k, v in like.extensions.items() if k == "timeout"}
        return httpx.Request(
            "POST",
            self.token_url,
            data=form,
            headers={"Accept": "application/json"},
            extensions=extensions,
        )

    def _take(self, request: httpx.Request, response: httpx.Response) -> str:
        check_answer(request, response, redact=self._redact)
        try:
            body: Any = response.json()
        except ValueError:
            body = None
        token = body.get("access_token") if isinstance(body, dict) else None
        if response.status_code >= 300 or not isinstance(token, str) or not token:
            raise ActionError(
                f"POST {request.url.copy_with(query=None)} answered {response.status_code} "
                "without an access token"
            )
        lifetime = body.get("expires_in", _DEFAULT_LIFETIME_S)
        try:
            seconds = float(lifetime)
        except (TypeError, ValueError):
            seconds = _DEFAULT_LIFETIME_S
        self._cache.put(self._key, token, max(seconds, 1.0))
        return token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Send ``request`` with a bearer token; fetch a new one first if none is fresh."""
        token = self._cache.get(self._key)
        if token is None:
            asking = self._token_request(request)
            token = self._take(asking, (yield asking))
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code != 401:
            return
        # The token was refused: forget it and try once with a new one.
        self._cache.drop(self._key)
        asking = self._token_request(request)
        token = self._take(asking, (yield asking))
        request.headers["Authorization"] = f"Bearer {token}"
        yield request
