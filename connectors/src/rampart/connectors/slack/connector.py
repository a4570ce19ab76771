"""The ``slack`` connector: ``send message`` through the Web API or incoming webhooks.

Each entry of ``to`` is either the name of one of the asset's incoming ``webhooks`` (the
message goes to that webhook's channel) or, with a ``bot_token``, a channel id or name or a
user id for ``chat.postMessage`` (a user id is the bot's direct message to that user). The
Web API answers HTTP 200 with ``{"ok": false, "error": "..."}`` when it refuses; its
``internal_error``/``fatal_error``/``service_unavailable``/``request_timeout`` and HTTP 429
(with ``Retry-After``) or 5xx are transient. Text is sent as Slack's ``mrkdwn`` with ``&``,
``<`` and ``>`` escaped, so event data cannot mention ``@channel`` or forge a link.
"""

from __future__ import annotations

import contextlib
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, model_validator

from rampart.sdk.connector import (
    ActionContext,
    ActionError,
    Connector,
    HttpsUrl,
    NoParams,
    ProductClient,
    ProductConfig,
    SendMessageParams,
    TargetUnavailable,
    Webhooks,
    action,
    check_webhooks,
    deliver_each,
    post_webhook,
)

WIDGET = """<p class="rampart-slack">Posted to
{% for p in result.sent %}<strong>{{ p.to }}</strong>{% if p.ts %} ({{ p.ts }}){% endif %}
{% endfor %}{% if result.refused %}; not to {% for to, why in result.refused.items() %}
<strong>{{ to }}</strong> ({{ why }}) {% endfor %}{% endif %}</p>"""

# Web API errors that say Slack, not the request, failed: the same call may work later.
TRANSIENT = frozenset({"internal_error", "fatal_error", "service_unavailable", "request_timeout"})


class SlackConfig(ProductConfig):
    """A bot token for the Web API, named incoming webhooks, or both."""

    url: HttpsUrl = Field(default="https://slack.com", description="the Web API's host")
    bot_token: SecretStr | None = Field(
        default=None, description="a bot token (xoxb-…) with the chat:write scope"
    )
    webhooks: Webhooks = Field(default_factory=dict)

    @model_validator(mode="after")
    def _a_way_to_post(self) -> SlackConfig:
        if self.bot_token is None and not self.webhooks:
            raise ValueError("give bot_token, webhooks, or both")
        return self


class Posted(BaseModel):
    """One message Slack took."""

    to: str
    via: Literal["chat.postMessage", "webhook"]
    channel: str | None = Field(default=None, description="the channel id (Web API only)")
    ts: str | None = Field(default=None, description="the message's timestamp (Web API only)")


class SlackMessageSent(BaseModel):
    """Where the message went, and each recipient Slack refused with its error."""

    sent: list[Posted]
    refused: dict[str, str] = Field(description="recipient → Slack's error")


class Workspace(BaseModel):
    """Who the bot token is, and the webhooks Slack recognised."""

    team: str | None
    team_id: str | None
    user: str | None
    bot_id: str | None
    webhooks: list[str]


def escaped(text: str) -> str:
    """``text`` with the three characters Slack reads as markup turned into entities."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def message_text(params: SendMessageParams) -> str:
    """The ``mrkdwn`` text of a message: the subject in bold on its own line, then the body."""
    body = escaped(params.body)
    return f"*{escaped(params.subject)}*\n{body}" if params.subject.strip() else body


class SlackConnector(Connector[SlackConfig]):
    """Posts messages to Slack channels and people."""

    name = "slack"
    vendor = "Slack"
    product = "Slack"
    description = (
        "Sends messages to channels and people with chat.postMessage (a bot token) or "
        "to the channels of incoming webhooks."
    )
    config_model = SlackConfig

    def _web_api(self, ctx: ActionContext) -> contextlib.AbstractAsyncContextManager[ProductClient]:
        token = self.config.bot_token
        assert token is not None
        return self.config.client(
            ctx,
            headers={
                "Authorization": f"Bearer {token.get_secret_value()}",
                "Content-Type": "application/json; charset=utf-8",
                "Accept": "application/json",
            },
            secrets=[token],
        )

    @staticmethod
    def _answer(method: str, body: Any) -> dict[str, Any]:
        """The Web API's answer when ``ok``; its ``error`` raised as the SDK's error if not."""
        if not isinstance(body, dict):
            raise ActionError(f"Slack's {method} answered without a JSON object")
        if body.get("ok") is True:
            return body
        error = str(body.get("error") or "unknown_error")
        if error in TRANSIENT:
            raise TargetUnavailable(f"Slack's {method} answered {error}")
        raise ActionError(f"Slack's {method} refused: {error}")

    async def _post(
        self, ctx: ActionContext, api: ProductClient | None, to: str, text: str
    ) -> Posted:
        hook = self.config.webhooks.get(to)
        if hook is not None:
            await post_webhook(ctx, hook, {"text": text}, options=self.config)
            return Posted(to=to, via="webhook")
        if api is None:
            raise ActionError(f"{to!r} is none of this asset's webhooks and it has no bot_token")
        body = await api.json(
            "POST",
            "/api/chat.postMessage",
            json={"channel": to, "text": text, "unfurl_links": False, "unfurl_media": False},
        )
        answer = self._answer("chat.postMessage", body)
        return Posted(
            to=to,
            via="chat.postMessage",
            channel=str(answer.get("channel") or "") or None,
            ts=str(answer.get("ts") or "") or None,
        )

    @action("send message", widget=WIDGET)
    async def send_message(self, ctx: ActionContext, params: SendMessageParams) -> SlackMessageSent:
        """Post the message to each recipient; see the module for how ``to`` is read."""
        text = message_text(params)
        async with contextlib.AsyncExitStack() as stack:
            api = None
            if self.config.bot_token is not None:
                api = await stack.enter_async_context(self._web_api(ctx))

            async def one(to: str) -> Posted:
                return await self._post(ctx, api, to, text)

            delivered = await deliver_each(params.to, one)
        ctx.log.info("slack message sent", extra={"recipients": len(delivered.sent)})
        return SlackMessageSent(sent=delivered.sent, refused=delivered.refused)

    @action("test connectivity")
    async def test_connectivity(self, ctx: ActionContext, params: NoParams) -> Workspace:
        """``auth.test`` with the bot token; each webhook is sent an empty message, which
        Slack refuses (400) for a webhook it knows and answers 403/404/410 for one it does
        not, so nothing is posted."""
        who: dict[str, Any] = {}
        if self.config.bot_token is not None:
            async with self._web_api(ctx) as api:
                who = self._answer("auth.test", await api.json("POST", "/api/auth.test"))
        known = await check_webhooks(ctx, self.config.webhooks, options=self.config)
        return Workspace(
            team=who.get("team"),
            team_id=who.get("team_id"),
            user=who.get("user"),
            bot_id=who.get("bot_id"),
            webhooks=known,
        )
