"""A fake of Microsoft Teams' incoming webhooks: Office 365 connector and Workflows webhooks.

Follows Microsoft's published documentation and Microsoft's own answers on it:
- "Create and send messages" (Teams platform) —
  https://learn.microsoft.com/en-us/microsoftteams/platform/webhooks-and-connectors/how-to/connectors-using
  (``POST`` a JSON payload to the webhook URL; an Adaptive Card goes as ``{"type":
  "message", "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive",
  "content": {"type": "AdaptiveCard", "body": [...]}}]}``, a legacy connector card as a
  ``MessageCard`` with ``text``; the message limit of 28 KB; rate limiting answered with 429)
- "Create an Incoming Webhook" —
  https://learn.microsoft.com/en-us/microsoftteams/platform/webhooks-and-connectors/how-to/add-incoming-webhook
  (the URL is ``https://<tenant>.webhook.office.com/webhookb2/…/IncomingWebhook/…``)
- MicrosoftDocs/msteams-docs issues #402, #1810, #7425 and #9064, where Microsoft's engineers
  state the answers: HTTP 200 with ``1`` (the number of messages taken) on success, and HTTP
  200 with a text body ``Webhook message delivery failed with error: Microsoft Teams endpoint
  returned HTTP error <status> with ContextId …`` when Teams refused the message (413 for too
  large, 429 when throttled, 400 for a removed channel): "the response can be considered
  successful only if it returns a number"; a payload it cannot read is 400 ``Summary or Text
  is required.`` / ``Bad payload received by generic incoming webhook.``
- Azure Logic Apps "Receive and respond to inbound HTTPS calls" —
  https://learn.microsoft.com/en-us/azure/connectors/connectors-native-reqres (the Workflows
  "When a Teams webhook request is received" trigger answers 202 Accepted with no body; its
  URL is signed by the ``sig`` query parameter, a wrong one is 401)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from connectors.tests.fakes._serve import Faults, with_faults

MAX_MESSAGE = 28 * 1024
CONTEXT = "with ContextId tcid=0,server=msgapi-production-fake,cv=Fake0000.0"
FAILED = "Webhook message delivery failed with error: Microsoft Teams endpoint returned HTTP error"


@dataclass
class FakeTeams:
    """Channels' connector webhooks (by secret path), Workflows webhooks, what was posted."""

    connector_hooks: dict[str, str] = field(
        default_factory=lambda: {
            "/webhookb2/0f1e2d3c-aaaa-bbbb-cccc-000000000001@72f988bf-0000/IncomingWebhook/"
            "9a8b7c6d5e4f/2c3d4e5f-hookSecret-0001": "SOC"
        }
    )
    workflows: dict[str, tuple[str, str]] = field(
        default_factory=lambda: {
            "/workflows/5b6c7d8e0001/triggers/manual/paths/invoke": ("wfSig-0123456789", "IR")
        }
    )
    removed: set[str] = field(default_factory=set)
    throttled_in_body: int = 0
    posted: list[dict[str, Any]] = field(default_factory=list)
    faults: Faults = field(default_factory=Faults)

    @property
    def connector_path(self) -> str:
        return next(iter(self.connector_hooks))

    @property
    def workflow_path(self) -> str:
        path = next(iter(self.workflows))
        return (
            f"{path}?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig="
            + (self.workflows[path][0])
        )

    @staticmethod
    def card_text(payload: dict[str, Any]) -> list[str] | None:
        """The texts of the payload's Adaptive Card, or None if it carries no card."""
        attachments = payload.get("attachments")
        if payload.get("type") != "message" or not isinstance(attachments, list) or not attachments:
            return None
        texts: list[str] = []
        for attachment in attachments:
            content = attachment.get("content") if isinstance(attachment, dict) else None
            if (
                attachment.get("contentType") != "application/vnd.microsoft.card.adaptive"
                or not isinstance(content, dict)
                or content.get("type") != "AdaptiveCard"
                or not isinstance(content.get("body"), list)
            ):
                return None
            for element in content["body"]:
                texts.extend(i.get("text", "") for i in element.get("inlines", []))
                if "text" in element:
                    texts.append(element["text"])
        return texts

    def app(self) -> Any:
        async def payload(request: Request) -> tuple[bytes, Any]:
            raw = await request.body()
            try:
                return raw, json.loads(raw)
            except ValueError:
                return raw, None

        async def connector(request: Request) -> Response:
            channel = self.connector_hooks.get(request.url.path)
            if channel is None:
                return PlainTextResponse("Not Found", 404)
            raw, body = await payload(request)
            if not isinstance(body, dict):
                return PlainTextResponse("Bad payload received by generic incoming webhook.", 400)
            texts = self.card_text(body)
            if texts is None and not body.get("text"):
                return PlainTextResponse("Summary or Text is required.", 400)
            if request.url.path in self.removed:
                return PlainTextResponse(f"{FAILED} 400 {CONTEXT}.")
            if len(raw) > MAX_MESSAGE:
                return PlainTextResponse(f"{FAILED} 413 {CONTEXT}.")
            if self.throttled_in_body > 0:
                self.throttled_in_body -= 1
                return PlainTextResponse(f"{FAILED} 429 {CONTEXT}.")
            self.posted.append({"via": "connector", "channel": channel, "texts": texts})
            return PlainTextResponse("1")

        async def workflow(request: Request) -> Response:
            known = self.workflows.get(request.url.path)
            if known is None:
                return JSONResponse({"error": {"code": "NotFound", "message": "Not found"}}, 404)
            if request.query_params.get("sig") != known[0]:
                return JSONResponse(
                    {
                        "error": {
                            "code": "DirectApiInvalidAuthorizationSignature",
                            "message": "The provided authorization signature is not valid.",
                        }
                    },
                    401,
                )
            _, body = await payload(request)
            texts = self.card_text(body) if isinstance(body, dict) else None
            if texts is not None:
                self.posted.append({"via": "workflow", "channel": known[1], "texts": texts})
            return Response(status_code=202)

        app = Starlette(
            routes=[
                Route("/webhookb2/{rest:path}", connector, methods=["POST"]),
                Route("/workflows/{rest:path}", workflow, methods=["POST"]),
            ]
        )
        return with_faults(app, self.faults)
