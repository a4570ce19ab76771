"""An HTTP product's asset configuration, and the clients it opens: one declaration, not a copy
per connector.

```python
class ServiceDeskConfig(TokenOrPassword):          # url, tls, request_timeout_s,
    token: SecretStr | None = None                 # username, password: declared once
    queue: str = "SOC"

async with self.config.signed_in(ctx) as api:      # Bearer token, else HTTP basic
    await api.json("POST", "/api/tickets", json=ticket)

class ChatConfig(HttpOptions):
    webhooks: Webhooks                             # name → a secret https URL

await post_webhook(ctx, self.config.webhooks["#soc"], {"text": "hi"}, options=self.config)
```

:class:`HttpOptions` is how any HTTP call of the asset is made (TLS, timeout);
:class:`ProductConfig` adds the product's base URL and :meth:`ProductConfig.client`;
:class:`TokenOrPassword` adds the usual "a token, or a user name and password" sign-in.
An incoming webhook's URL is its own credential: :func:`post_webhook` keeps all of it out of
error messages and log lines.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Iterable, Mapping
from typing import Annotated, Any, ClassVar, Self

import httpx
from pydantic import AfterValidator, Field, SecretStr, model_validator

from rampart.sdk.connector._config import AssetConfig
from rampart.sdk.connector._context import ActionContext
from rampart.sdk.connector._errors import ActionError
from rampart.sdk.connector._http import (
    HttpsUrl,
    ProductClient,
    RetryAfter,
    TlsOptions,
    product_client,
)

__all__ = [
    "HttpOptions",
    "ProductConfig",
    "TokenOrPassword",
    "WebhookUrl",
    "Webhooks",
    "check_webhooks",
    "post_webhook",
]


class HttpOptions(AssetConfig):
    """How the asset's HTTP requests are made: the certificate check and a timeout each."""

    tls: TlsOptions = TlsOptions()
    request_timeout_s: float = Field(default=30.0, gt=0, le=300)


class ProductConfig(HttpOptions):
    """A product reached at one base URL (``https://`` only)."""

    url: HttpsUrl

    def client(
        self,
        ctx: ActionContext,
        *,
        headers: Mapping[str, str] | None = None,
        auth: httpx.Auth | tuple[str, str] | None = None,
        secrets: Iterable[str | SecretStr | None] = (),
        retry_after: RetryAfter | None = None,
    ) -> contextlib.AbstractAsyncContextManager[ProductClient]:
        """A :func:`product_client` on ``url`` with this asset's TLS options and timeout."""
        return product_client(
            ctx,
            self.url,
            tls=self.tls,
            headers=headers,
            auth=auth,
            request_timeout_s=self.request_timeout_s,
            secrets=secrets,
            retry_after=retry_after,
        )


class TokenOrPassword(ProductConfig):
    """A product that takes a token or a user name and password; the token wins when both are
    given.

    The subclass declares the token field (``SecretStr | None``) under the product's own name,
    ``sign_in_field`` names it and ``sign_in_scheme`` is how it is sent
    (``Authorization: <sign_in_scheme> <token>``); the password goes as HTTP basic.
    """

    sign_in_field: ClassVar[str] = "token"
    sign_in_scheme: ClassVar[str] = "Bearer"

    username: str | None = Field(default=None, max_length=255)
    password: SecretStr | None = None

    def _token(self) -> SecretStr | None:
        value = getattr(self, self.sign_in_field, None)
        return value if isinstance(value, SecretStr) else None

    @model_validator(mode="after")
    def _one_way_to_sign_in(self) -> Self:
        if self._token() is None and (self.username is None or self.password is None):
            raise ValueError(f"give {self.sign_in_field}, or username and password")
        return self

    def signed_in(
        self,
        ctx: ActionContext,
        *,
        headers: Mapping[str, str] | None = None,
        retry_after: RetryAfter | None = None,
    ) -> contextlib.AbstractAsyncContextManager[ProductClient]:
        """A client on the product that sends the token, or else the user name and password."""
        sent = {"Accept": "application/json", **(headers or {})}
        token = self._token()
        auth: tuple[str, str] | None = None
        if token is not None:
            sent["Authorization"] = f"{self.sign_in_scheme} {token.get_secret_value()}"
        elif self.username is not None and self.password is not None:
            auth = (self.username, self.password.get_secret_value())
        return self.client(
            ctx, headers=sent, auth=auth, secrets=[token, self.password], retry_after=retry_after
        )


def _https(url: SecretStr) -> SecretStr:
    parsed = httpx.URL(url.get_secret_value())
    if parsed.scheme != "https" or not parsed.host or parsed.raw_path in (b"", b"/"):
        # never the value itself: it is a credential
        raise ValueError("must be an https:// URL with a path")
    return url


WebhookUrl = Annotated[SecretStr, AfterValidator(_https)]
"""An incoming webhook's URL: ``https://`` with a path, kept secret (it is the credential)."""

Webhooks = Annotated[
    dict[Annotated[str, Field(min_length=1, max_length=255)], WebhookUrl],
    Field(max_length=100, description="a name a message's `to` uses → the webhook's URL"),
]
"""Named incoming webhooks: ``to`` in a ``send message`` picks one by its name."""


async def post_webhook(
    ctx: ActionContext,
    url: SecretStr,
    body: Any,
    *,
    options: HttpOptions,
    accept: Collection[int] = (),
) -> httpx.Response:
    """``POST`` ``body`` as JSON to an incoming webhook; the SDK's errors, without its URL.

    The product's answer is returned when 2xx (or in ``accept``); 429 and 5xx raise
    ``TargetUnavailable``, other 4xx ``ActionError`` with the product's words. The URL, its
    path and its query never appear in a message or in httpx's log lines.
    """
    target = httpx.URL(url.get_secret_value())
    origin = f"{target.scheme}://{target.netloc.decode('ascii')}"
    path, with_query = target.path, target.raw_path.decode("ascii")
    async with product_client(
        ctx,
        origin,
        tls=options.tls,
        request_timeout_s=options.request_timeout_s,
        headers={"Content-Type": "application/json"},
        secrets=[url, with_query, path],
    ) as api:
        return await api.request("POST", with_query, json=body, accept=accept)


async def check_webhooks(
    ctx: ActionContext,
    webhooks: Mapping[str, SecretStr],
    *,
    options: HttpOptions,
    known: Collection[int] = (400,),
) -> list[str]:
    """Post an empty JSON object to each webhook; the names of those the product knows.

    Chat products refuse an empty message (400) from a webhook they know, and answer
    403/404/410 for one they do not, so the check posts nothing to anyone; an answer other
    than 2xx or ``known`` is the product's error, naming the webhook.
    """
    for name, url in webhooks.items():
        try:
            await post_webhook(ctx, url, {}, options=options, accept=known)
        except ActionError as exc:
            raise ActionError(f"webhook {name!r}: {exc}") from None
    return sorted(webhooks)
