"""The one way an HTTP connector talks to its product, with the rules every product call keeps.

```python
class MyConfig(AssetConfig):
    url: HttpsUrl
    token: SecretStr
    tls: TlsOptions = TlsOptions()

async with product_client(ctx, self.config.url, tls=self.config.tls,
                          headers={"Authorization": f"Bearer {token}"},
                          secrets=[token]) as api:
    answer = await api.get_json("/api/v1/things", params={"limit": 100})
```

- TLS is verified by default; ``TlsOptions.ca_bundle`` (PEM text) trusts a private CA, and
  ``verify=False`` is an explicit, visible choice of the asset's configuration.
- Redirects are followed only on the product's own scheme, host and port, at most five;
  a redirect to another host is an :class:`ActionError` (credentials never leave the product).
- 429 raises :class:`TargetUnavailable` with ``retry_after`` from the ``Retry-After`` header
  (seconds or an HTTP date), which the runner honours before trying again; 5xx and transport
  failures raise ``TargetUnavailable`` too; any other 4xx is an ``ActionError`` carrying the
  product's own message.
- Every request is bounded by a timeout; error messages never carry a secret (each of
  ``secrets`` is replaced by ``***``) nor the query string of the URL, and neither do the
  log lines httpx writes while the request is sent (a webhook's URL is its credential).
"""

from __future__ import annotations

import contextvars
import email.utils
import json
import logging
import ssl
import time
from collections.abc import AsyncIterator, Callable, Collection, Iterable, Mapping
from contextlib import asynccontextmanager
from typing import Annotated, Any
from xml.etree import ElementTree

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from rampart.sdk.connector._context import ActionContext
from rampart.sdk.connector._errors import ActionError, TargetUnavailable

__all__ = [
    "HttpsUrl",
    "ProductClient",
    "RetryAfter",
    "TlsOptions",
    "check_answer",
    "product_client",
    "retry_after_seconds",
    "same_origin",
]

HttpsUrl = Annotated[
    str,
    Field(
        pattern=r"^https://[^/?#\s]+(/[^?#\s]*)?$",
        max_length=2048,
        description="the product's base URL, https only",
    ),
]
"""A product's base URL in an asset configuration: ``https://`` only, no query or fragment."""

RetryAfter = Callable[[httpx.Response], float | None]
"""Reads how long to wait from a 429 or 5xx answer (default: its ``Retry-After``)."""

_MAX_REDIRECTS = 5
_MESSAGE_LIMIT = 500
_REDIRECTS = {301, 302, 303, 307, 308}
# Where products put their words in an error body, most specific first: the common ``message``,
# OAuth's ``error_description``, Okta's ``errorSummary``, Elasticsearch's ``reason``,
# vSphere's ``messages[].default_message``, Jira's ``errorMessages``, Splunk's
# ``messages[].text``, Microsoft's ``error.message``, CrowdStrike's ``errors[].message``.
_MESSAGE_KEYS = (
    "message",
    "error_description",
    "errorSummary",
    "reason",
    "default_message",
    "detail",
    "text",
    "errorMessages",
    "messages",
    "error",
    "errors",
)


class TlsOptions(BaseModel):
    """How the product's certificate is checked; the default verifies against the system CAs."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    verify: bool = Field(default=True, description="check the product's certificate")
    ca_bundle: str | None = Field(
        default=None, max_length=1_000_000, description="PEM certificates of a private CA"
    )

    def context(self) -> ssl.SSLContext | bool:
        """What httpx's ``verify=`` takes for these options."""
        if not self.verify:
            return False
        context = ssl.create_default_context()
        if self.ca_bundle:
            context.load_verify_locations(cadata=self.ca_bundle)
        return context


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds from now: delta-seconds or an HTTP date (RFC 9110 10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def _retry_after_header(response: httpx.Response) -> float | None:
    return retry_after_seconds(response.headers.get("retry-after"))


def _secret_values(secrets: Iterable[str | SecretStr | None]) -> list[str]:
    out = []
    for secret in secrets:
        value = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
        if value and len(value) >= 4:
            out.append(value)
    return sorted(out, key=len, reverse=True)


def _xml_words(text: str) -> str | None:
    """The text of an XML error body (PAN-OS ``<msg>``, a SOAP fault), or None if not XML."""
    try:
        # The product was reached over verified TLS; expat bounds entity expansion.
        root = ElementTree.fromstring(text)  # noqa: S314
    except ElementTree.ParseError:
        return None
    return " ".join(part.strip() for part in root.itertext() if part.strip())


def _vendor_message(response: httpx.Response) -> str:
    """The product's own words from an error body: the usual JSON fields, else its text."""
    try:
        body: Any = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        text = response.text.strip()
        if text.startswith("<"):
            return _xml_words(text) or text
        return text
    for _ in range(3):
        if isinstance(body, str) and body:
            return body
        if isinstance(body, list) and body:
            body = body[0]
            continue
        if not isinstance(body, dict):
            break
        for key in _MESSAGE_KEYS:
            value = body.get(key)
            if isinstance(value, str) and value:
                return value
            if isinstance(value, dict | list) and value:
                body = value
                break
        else:
            break
    return json.dumps(body)[:_MESSAGE_LIMIT] if body else response.text.strip()


def _where(request: httpx.Request) -> str:
    return f"{request.method} {request.url.copy_with(query=None)}"


_SENDING_WITH: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar(
    "rampart_connector_secrets", default=()
)


class _RedactSending(logging.Filter):
    """Takes the secrets of the request being sent out of httpx's and httpcore's log lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = _SENDING_WITH.get()
        if secrets:
            message = record.getMessage()
            for secret in secrets:
                message = message.replace(secret, "***")
            record.msg, record.args = message, None
        return True


_REDACT_SENDING = _RedactSending()


def _guard_client_logs() -> None:
    for name in ("httpx", "httpcore"):
        logger = logging.getLogger(name)
        if _REDACT_SENDING not in logger.filters:
            logger.addFilter(_REDACT_SENDING)


def same_origin(a: httpx.URL, b: httpx.URL) -> bool:
    """Whether two URLs share scheme, host and port (where credentials may be sent)."""
    return (a.scheme, a.host, a.port) == (b.scheme, b.host, b.port)


def check_answer(
    request: httpx.Request,
    response: httpx.Response,
    *,
    redact: Callable[[str], str],
    retry_after: RetryAfter | None = None,
) -> httpx.Response:
    """``response`` if it is not an error; else the SDK's error with the product's words.

    429 and 5xx raise :class:`TargetUnavailable` (with the ``Retry-After`` wait), any other
    4xx :class:`ActionError`; ``redact`` takes every secret out of the message.
    """
    status = response.status_code
    if status < 400:
        return response
    words = redact(_vendor_message(response))[:_MESSAGE_LIMIT]
    reason = redact(f"{_where(request)} answered {status}") + (f": {words}" if words else "")
    if status == 429 or status >= 500:
        wait = (retry_after or _retry_after_header)(response)
        raise TargetUnavailable(reason, retry_after=wait)
    raise ActionError(reason)


class ProductClient:
    """An ``httpx.AsyncClient`` on one product, answering in the SDK's errors."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        secrets: Iterable[str | SecretStr | None],
        retry_after: RetryAfter | None = None,
    ):
        self.client = client
        self._secrets = _secret_values(secrets)
        self._retry_after = retry_after or _retry_after_header
        _guard_client_logs()

    def redact(self, text: str) -> str:
        """``text`` with every secret of this client replaced by ``***``."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def _where(self, request: httpx.Request) -> str:
        return _where(request)

    async def request(
        self, method: str, url: str | httpx.URL, *, accept: Collection[int] = (), **options: Any
    ) -> httpx.Response:
        """Send one request; a 2xx answer is returned, anything else raised as the SDK's error.

        A status in ``accept`` is returned too: a lookup's 404 can be an answer ("unknown")."""
        request = self.client.build_request(method, url, **options)
        origin = (request.url.scheme, request.url.host, request.url.port)
        for _ in range(_MAX_REDIRECTS + 1):
            sending = _SENDING_WITH.set(tuple(self._secrets))
            try:
                response = await self.client.send(request)
            except httpx.TimeoutException as exc:
                raise TargetUnavailable(
                    self.redact(f"{self._where(request)}: no answer in time ({type(exc).__name__})")
                ) from None
            except httpx.TransportError as exc:
                raise TargetUnavailable(
                    self.redact(f"{self._where(request)}: {type(exc).__name__}: {exc}")
                ) from None
            finally:
                _SENDING_WITH.reset(sending)
            if response.status_code in accept:
                return response
            if response.status_code not in _REDIRECTS:
                return self._checked(request, response)
            location = response.headers.get("location")
            if not location:
                return self._checked(request, response)
            target = request.url.join(location)
            if (target.scheme, target.host, target.port) != origin:
                raise ActionError(
                    self.redact(
                        f"{self._where(request)}: the product redirected to another host "
                        f"({target.scheme}://{target.host}); not followed"
                    )
                )
            keep_body = response.status_code in (307, 308)
            request = self.client.build_request(
                request.method if keep_body or request.method == "HEAD" else "GET",
                target,
                headers=request.headers,
                content=request.content if keep_body else None,
            )
        raise ActionError(
            self.redact(f"{self._where(request)}: more than {_MAX_REDIRECTS} redirects")
        )

    def _checked(self, request: httpx.Request, response: httpx.Response) -> httpx.Response:
        return check_answer(request, response, redact=self.redact, retry_after=self._retry_after)

    async def get(self, url: str | httpx.URL, **options: Any) -> httpx.Response:
        """``GET`` through :meth:`request`."""
        return await self.request("GET", url, **options)

    async def post(self, url: str, **options: Any) -> httpx.Response:
        """``POST`` through :meth:`request`."""
        return await self.request("POST", url, **options)

    async def json(self, method: str, url: str, **options: Any) -> Any:
        """The JSON body of a 2xx answer (``None`` for an empty one)."""
        response = await self.request(method, url, **options)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise ActionError(
                self.redact(
                    f"{self._where(response.request)} answered {response.status_code} with a "
                    "body that is not JSON"
                )
            ) from None

    async def get_json(self, url: str, **options: Any) -> Any:
        """``GET`` and decode JSON."""
        return await self.json("GET", url, **options)

    async def pages(
        self,
        url: str,
        *,
        next_page: Callable[[Any], str | Mapping[str, Any] | None],
        params: Mapping[str, Any] | None = None,
        max_pages: int = 100,
        **options: Any,
    ) -> AsyncIterator[Any]:
        """``GET`` ``url`` and every page after it, yielding each page's JSON body.

        ``next_page(body)`` says where the next page is: ``None`` at the end, a URL (an OData
        ``@odata.nextLink``, a ``Link`` target) or the query parameters of the next request
        to ``url`` (an offset, a cursor). A next URL on another host is refused, and more than
        ``max_pages`` pages is an :class:`ActionError`: the product's listing never ends.
        """
        target, query = url, dict(params or {})
        for _ in range(max_pages):
            body = await self.json("GET", target, params=query or None, **options)
            yield body
            following = next_page(body)
            if following is None:
                return
            if isinstance(following, str):
                here = self.client.build_request("GET", target).url
                link = here.join(following)
                if not same_origin(link, here):
                    raise ActionError(
                        f"GET {here.copy_with(query=None)}: the next page is on another host "
                        f"({link.host}); not followed"
                    )
                target, query = str(link), {}
            else:
                query = {**query, **following}
        raise ActionError(f"GET {url}: more than {max_pages} pages; stopped")


@asynccontextmanager
async def product_client(
    ctx: ActionContext,
    base_url: str,
    *,
    tls: TlsOptions | None = None,
    headers: Mapping[str, str] | None = None,
    auth: httpx.Auth | tuple[str, str] | None = None,
    request_timeout_s: float = 30.0,
    secrets: Iterable[str | SecretStr | None] = (),
    retry_after: RetryAfter | None = None,
) -> AsyncIterator[ProductClient]:
    """A :class:`ProductClient` on ``base_url`` made through the action's ``ctx.http``.

    ``retry_after`` reads a product's own rate-limit headers when it does not send
    ``Retry-After`` (Okta's ``X-Rate-Limit-Reset``, say)."""
    options: dict[str, Any] = {
        "base_url": base_url,
        "headers": dict(headers or {}),
        "timeout": httpx.Timeout(request_timeout_s),
        "follow_redirects": False,
        "verify": (tls or TlsOptions()).context(),
    }
    if auth is not None:
        options["auth"] = auth
    async with ctx.http(**options) as client:
        yield ProductClient(client, secrets=secrets, retry_after=retry_after)
