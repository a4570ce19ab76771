"""The ``teams`` connector: ``send message`` as an Adaptive Card to incoming webhooks.

Each entry of ``to`` names one of the asset's ``webhooks``: an Office 365 connector's
incoming webhook (``…webhook.office.com/webhookb2/…``) or a Workflows webhook ("When a Teams
webhook request is received"). Both take ``{"type": "message", "attachments": [<Adaptive
Card>]}``. The card's text is in ``TextRun`` elements, which Teams does not read as Markdown,
so event data cannot forge a link.

How the webhooks answer: a connector webhook says ``1`` (the number of messages it took)
with HTTP 200, and, for historical reasons, also says HTTP 200 when Teams refused the message,
with the refusal as text ("Webhook message delivery failed with error: Microsoft Teams
endpoint returned HTTP error 413 …"); a Workflows webhook accepts with 202 and no body. So a
2xx is a success only with a number or nothing in its body; Teams' own ``HTTP error 429`` or
5xx inside such a body is transient, anything else a refusal.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
from pydantic import BaseModel, Field

from rampart.sdk.connector import (
    ActionContext,
    ActionError,
    Connector,
    HttpOptions,
    NoParams,
    SendMessageParams,
    TargetUnavailable,
    Webhooks,
    action,
    check_webhooks,
    deliver_each,
    post_webhook,
)

WIDGET = """<p class="rampart-teams">Posted to
{% for to in result.sent %}<strong>{{ to }}</strong> {% endfor %}
{% if result.refused %}; not to {% for to, why in result.refused.items() %}
<strong>{{ to }}</strong> ({{ why }}) {% endfor %}{% endif %}</p>"""

_INNER_STATUS = re.compile(r"returned HTTP error (\d{3})")
_WORDS_LIMIT = 300


class TeamsConfig(HttpOptions):
    """The channels' incoming webhooks, by the name a message's ``to`` uses."""

    webhooks: Webhooks = Field(min_length=1)


class TeamsMessageSent(BaseModel):
    """The webhooks that took the message, and each refusal with Teams' words."""

    sent: list[str]
    refused: dict[str, str] = Field(description="webhook name → why Teams refused")


class TeamsWebhooks(BaseModel):
    """The webhooks Teams recognised."""

    webhooks: list[str]


def card(params: SendMessageParams) -> dict[str, Any]:
    """The message as Teams wants it from a webhook: one Adaptive Card attachment."""
    body: list[dict[str, Any]] = []
    if params.subject.strip():
        body.append(
            {
                "type": "RichTextBlock",
                "inlines": [
                    {
                        "type": "TextRun",
                        "text": params.subject,
                        "weight": "Bolder",
                        "size": "Medium",
                    }
                ],
            }
        )
    body.append({"type": "RichTextBlock", "inlines": [{"type": "TextRun", "text": params.body}]})
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "body": body,
                },
            }
        ],
    }


def took(name: str, answer: httpx.Response) -> None:
    """Raise the SDK's error unless a 2xx answer says Teams took the message."""
    words = answer.text.strip()
    if not words or words.isdigit():
        return
    inner = _INNER_STATUS.search(words)
    reason = f"webhook {name!r}: Teams did not deliver the message: {words[:_WORDS_LIMIT]}"
    if inner and (inner.group(1) == "429" or inner.group(1).startswith("5")):
        raise TargetUnavailable(reason)
    raise ActionError(reason)


class TeamsConnector(Connector[TeamsConfig]):
    """Posts messages to Microsoft Teams channels."""

    name = "teams"
    vendor = "Microsoft"
    product = "Microsoft Teams"
    description = "Sends messages as Adaptive Cards to channels' incoming webhooks."
    config_model = TeamsConfig

    async def _post(self, ctx: ActionContext, name: str, message: dict[str, Any]) -> str:
        hook = self.config.webhooks.get(name)
        if hook is None:
            names = ", ".join(sorted(self.config.webhooks))
            raise ActionError(f"{name!r} is none of this asset's webhooks ({names})")
        took(name, await post_webhook(ctx, hook, message, options=self.config))
        return name

    @action("send message", widget=WIDGET)
    async def send_message(self, ctx: ActionContext, params: SendMessageParams) -> TeamsMessageSent:
        """Post the card to each named webhook."""
        message = card(params)

        async def one(name: str) -> str:
            return await self._post(ctx, name, message)

        delivered = await deliver_each(params.to, one)
        ctx.log.info("teams message sent", extra={"recipients": len(delivered.sent)})
        return TeamsMessageSent(sent=delivered.sent, refused=delivered.refused)

    @action("test connectivity")
    async def test_connectivity(self, ctx: ActionContext, params: NoParams) -> TeamsWebhooks:
        """Post an empty object to each webhook: a connector webhook Teams knows refuses it as
        a bad payload (400), so nothing is posted; an unknown one answers 404. A Workflows
        webhook accepts anything (202) once its signature is right; its flow run then fails
        on the empty body."""
        known = await check_webhooks(ctx, self.config.webhooks, options=self.config)
        return TeamsWebhooks(webhooks=known)
