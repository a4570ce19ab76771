"""OAuth2 client credentials and pagination of the product client.

The token endpoint answers as RFC 6749 4.4 and 5.1/5.2 say: ``access_token``, ``token_type``,
``expires_in`` on success, ``error`` / ``error_description`` with 400 or 401 on failure.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from rampart.sdk.connector import (
    ActionContext,
    ActionError,
    ClientCredentials,
    TargetUnavailable,
    TokenCache,
    product_client,
)

SECRET = "cs-0123456789abcdef"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Product:
    """A token endpoint and one API route that accepts only the latest token issued."""

    def __init__(self) -> None:
        self.issued: list[str] = []
        self.revoked: set[str] = set()
        self.token_forms: list[dict[str, str]] = []
        self.token_answer: Callable[[], httpx.Response] | None = None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth2/token":
            form = dict(httpx.QueryParams(request.content.decode()))
            self.token_forms.append(form)
            if self.token_answer is not None:
                return self.token_answer()
            if form.get("client_secret") != SECRET:
                return httpx.Response(
                    401,
                    json={"error": "invalid_client", "error_description": f"bad secret {SECRET}"},
                )
            token = f"tok-{len(self.issued)}"
            self.issued.append(token)
            return httpx.Response(
                201, json={"access_token": token, "token_type": "bearer", "expires_in": 1800}
            )
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if token not in self.issued or token in self.revoked:
            return httpx.Response(401, json={"errors": [{"message": "access denied"}]})
        return httpx.Response(200, json={"token": token})


def _ctx(product: Product) -> ActionContext:
    def factory(**options: Any) -> httpx.AsyncClient:
        options.pop("verify", None)
        return httpx.AsyncClient(**options, transport=httpx.MockTransport(product))

    return ActionContext(asset="edr", http=factory)


async def _call(product: Product, auth: ClientCredentials) -> Any:
    async with product_client(
        _ctx(product), "https://edr.example", auth=auth, secrets=[SECRET]
    ) as api:
        return await api.get_json("/devices")


def _auth(cache: TokenCache, secret: str = SECRET) -> ClientCredentials:
    return ClientCredentials("https://edr.example/oauth2/token", "client-1", secret, cache=cache)


async def test_a_token_is_cached_across_actions_and_renewed_before_it_expires() -> None:
    product, clock = Product(), Clock()
    cache = TokenCache(clock=clock)
    assert await _call(product, _auth(cache)) == {"token": "tok-0"}
    assert await _call(product, _auth(cache)) == {"token": "tok-0"}
    assert len(product.token_forms) == 1
    assert product.token_forms[0] == {
        "grant_type": "client_credentials",
        "client_id": "client-1",
        "client_secret": SECRET,
    }
    clock.now += 1800 - 61  # more than a minute left: still good
    assert await _call(product, _auth(cache)) == {"token": "tok-0"}
    clock.now += 2  # less than a minute left: renewed before the product refuses it
    assert await _call(product, _auth(cache)) == {"token": "tok-1"}
    assert len(product.token_forms) == 2


async def test_a_refused_token_is_renewed_once() -> None:
    product = Product()
    cache = TokenCache()
    await _call(product, _auth(cache))
    product.revoked.add("tok-0")
    assert await _call(product, _auth(cache)) == {"token": "tok-1"}
    assert len(product.token_forms) == 2


async def test_a_second_401_is_the_products_refusal() -> None:
    product = Product()
    cache = TokenCache()
    await _call(product, _auth(cache))
    product.revoked.update({"tok-0", "tok-1"})
    with pytest.raises(ActionError, match="access denied") as caught:
        await _call(product, _auth(cache))
    assert not isinstance(caught.value, TargetUnavailable)
    assert len(product.token_forms) == 2


async def test_a_wrong_secret_is_an_action_error_in_the_endpoints_words_without_the_secret() -> (
    None
):
    product = Product()
    with pytest.raises(ActionError, match="bad secret") as caught:
        await _call(product, _auth(TokenCache(), secret="wrong-secret-value"))
    assert "wrong-secret-value" not in str(caught.value)
    # an endpoint that echoes the configured secret: it is redacted all the same
    product.token_answer = lambda: httpx.Response(
        400, json={"error": "invalid_scope", "error_description": f"scope of {SECRET}"}
    )
    with pytest.raises(ActionError, match="scope of") as caught:
        await _call(product, _auth(TokenCache()))
    assert SECRET not in str(caught.value)


async def test_a_busy_token_endpoint_is_transient_with_its_retry_after() -> None:
    product = Product()
    product.token_answer = lambda: httpx.Response(429, headers={"Retry-After": "9"}, json={})
    with pytest.raises(TargetUnavailable) as caught:
        await _call(product, _auth(TokenCache()))
    assert caught.value.retry_after == 9.0


async def test_pages_follow_offsets_and_next_links_on_the_same_host_only() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/items":
            offset = int(request.url.params.get("offset", "0"))
            more = offset + 2 < 5
            return httpx.Response(
                200, json={"items": list(range(offset, min(offset + 2, 5))), "more": more}
            )
        if request.url.path == "/odata":
            page = int(request.url.params.get("page", "0"))
            body: dict[str, Any] = {"value": [page]}
            if page < 2:
                body["@odata.nextLink"] = f"https://product.example/odata?page={page + 1}"
            elif request.url.params.get("leak"):
                body["@odata.nextLink"] = "https://collector.example/odata?page=9"
            return httpx.Response(200, json=body)
        return httpx.Response(404)

    def factory(**options: Any) -> httpx.AsyncClient:
        options.pop("verify", None)
        return httpx.AsyncClient(**options, transport=httpx.MockTransport(answer))

    ctx = ActionContext(asset="p", http=factory)
    async with product_client(ctx, "https://product.example") as api:
        offsets = [
            item
            async for body in api.pages(
                "/items",
                params={"limit": 2},
                next_page=lambda b: {"offset": b["items"][-1] + 1} if b["more"] else None,
            )
            for item in body["items"]
        ]
        assert offsets == [0, 1, 2, 3, 4]
        odata = [
            v
            async for body in api.pages("/odata", next_page=lambda b: b.get("@odata.nextLink"))
            for v in body["value"]
        ]
        assert odata == [0, 1, 2]
        with pytest.raises(ActionError, match="another host"):
            async for _ in api.pages(
                "/odata",
                params={"page": 2, "leak": 1},
                next_page=lambda b: b.get("@odata.nextLink"),
            ):
                pass
        with pytest.raises(ActionError, match="more than 2 pages"):
            async for _ in api.pages("/items", max_pages=2, next_page=lambda b: {"offset": 0}):
                pass
