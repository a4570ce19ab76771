"""The shared HTTP product configuration: one sign-in rule, one client setup, and incoming
webhooks whose URL (the credential) never shows in an error or a log line."""

from __future__ import annotations

import logging
from typing import Any, ClassVar

import httpx
import pytest
from pydantic import SecretStr, ValidationError

from rampart.sdk.connector import (
    ActionContext,
    ActionError,
    HttpOptions,
    TargetUnavailable,
    TokenOrPassword,
    Webhooks,
    post_webhook,
)

HOOK = "https://hooks.chat.example/services/T0001/B0002/s3cr3tPathPart0123"


class Desk(TokenOrPassword):
    token: SecretStr | None = None


class Search(TokenOrPassword):
    sign_in_field: ClassVar[str] = "api_key"
    sign_in_scheme: ClassVar[str] = "ApiKey"

    api_key: SecretStr | None = None


class Chat(HttpOptions):
    webhooks: Webhooks


def _context(answer: Any, seen: list[httpx.Request]) -> ActionContext:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer(request)  # type: ignore[no-any-return]

    def factory(**options: Any) -> httpx.AsyncClient:
        options.pop("verify", None)
        return httpx.AsyncClient(**options, transport=httpx.MockTransport(handler))

    return ActionContext(asset="desk", http=factory)


def test_a_token_or_a_user_and_password_is_required() -> None:
    with pytest.raises(ValidationError, match="give token, or username and password"):
        Desk(url="https://desk.example", username="ann")
    with pytest.raises(ValidationError, match="give api_key, or username and password"):
        Search(url="https://es.example")
    Desk(url="https://desk.example", username="ann", password=SecretStr("pw-123456"))
    with pytest.raises(ValidationError):
        Desk(url="http://desk.example", token=SecretStr("t-123456"))


async def test_the_token_goes_with_its_scheme_and_wins_over_the_password() -> None:
    seen: list[httpx.Request] = []
    config = Search(
        url="https://es.example",
        api_key=SecretStr("key-0123456789"),
        username="ann",
        password=SecretStr("pw-0123456789"),
    )
    ctx = _context(lambda r: httpx.Response(200, json={}), seen)
    async with config.signed_in(ctx, headers={"X-Extra": "1"}) as api:
        await api.get_json("/")
    assert seen[0].headers["authorization"] == "ApiKey key-0123456789"
    assert (seen[0].headers["accept"], seen[0].headers["x-extra"]) == ("application/json", "1")
    basic = Desk(url="https://desk.example", username="ann", password=SecretStr("pw-0123456789"))
    async with basic.signed_in(ctx) as api:
        await api.get_json("/")
    assert seen[1].headers["authorization"] == httpx.BasicAuth("ann", "pw-0123456789")._auth_header


async def test_a_refusal_names_neither_the_token_nor_the_password() -> None:
    config = Desk(url="https://desk.example", token=SecretStr("tok-0123456789"))
    ctx = _context(lambda r: httpx.Response(401, json={"message": "bad tok-0123456789"}), [])
    with pytest.raises(ActionError) as caught:
        async with config.signed_in(ctx) as api:
            await api.get_json("/x")
    assert "tok-0123456789" not in str(caught.value)
    assert "401: bad ***" in str(caught.value)


def test_a_webhook_must_be_https_and_its_url_is_never_echoed() -> None:
    with pytest.raises(ValidationError) as caught:
        Chat(webhooks={"#soc": SecretStr("http://hooks.chat.example/services/secretpart")})
    assert "secretpart" not in str(caught.value)
    assert "https:// URL with a path" in str(caught.value)
    with pytest.raises(ValidationError):
        Chat(webhooks={"#soc": SecretStr("https://hooks.chat.example/")})
    chat = Chat(webhooks={"#soc": SecretStr(HOOK)})
    assert "s3cr3t" not in repr(chat)


async def test_a_webhook_post_keeps_its_url_out_of_errors_and_httpx_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    seen: list[httpx.Request] = []
    chat = Chat(webhooks={"#soc": SecretStr(HOOK)})
    answers = iter([httpx.Response(200, text="ok"), httpx.Response(404, text="no_service")])
    ctx = _context(lambda r: next(answers), seen)
    with caplog.at_level(logging.INFO, logger="httpx"):
        ok = await post_webhook(ctx, chat.webhooks["#soc"], {"text": "hi"}, options=chat)
        with pytest.raises(ActionError) as caught:
            await post_webhook(ctx, chat.webhooks["#soc"], {"text": "hi"}, options=chat)
    assert ok.text == "ok"
    assert str(seen[0].url) == HOOK
    assert seen[0].headers["content-type"] == "application/json"
    assert "answered 404: no_service" in str(caught.value)
    assert "s3cr3tPathPart" not in str(caught.value)
    lines = [r.getMessage() for r in caplog.records if r.name == "httpx"]
    assert len(lines) == 2, lines
    assert all("s3cr3tPathPart" not in line and "***" in line for line in lines), lines


async def test_a_busy_webhook_is_transient_with_its_retry_after() -> None:
    chat = Chat(webhooks={"#soc": SecretStr(HOOK)})
    ctx = _context(lambda r: httpx.Response(429, headers={"Retry-After": "7"}, text="slow"), [])
    with pytest.raises(TargetUnavailable) as caught:
        await post_webhook(ctx, chat.webhooks["#soc"], {"text": "hi"}, options=chat)
    assert caught.value.retry_after == 7.0
    assert "s3cr3tPathPart" not in str(caught.value)
