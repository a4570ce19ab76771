"""Local stand-ins for where owners are reached: a real SMTP server (aiosmtpd) and one HTTP
server that plays a Slack incoming webhook, a Teams incoming webhook and a Standard Webhooks
receiver, each checking requests the way the vendor documents them.

- Slack incoming webhooks: https://api.slack.com/messaging/webhooks ; Block Kit reference:
  https://api.slack.com/reference/block-kit/blocks (header text plain_text <= 150 chars, section
  text/fields <= 3000/2000 chars and at most 10 fields, actions with button elements whose
  ``text`` is plain_text and ``url`` <= 3000 chars). Slack answers ``200 ok``, or ``400
  invalid_blocks`` / ``no_text``.
- Microsoft Teams, "Create an Incoming Webhook" and "Send Adaptive Cards using an Incoming
  Webhook": https://learn.microsoft.com/en-us/microsoftteams/platform/webhooks-and-connectors/how-to/add-incoming-webhook
  and the card format https://learn.microsoft.com/en-us/adaptive-cards/ : the body is
  ``{"type": "message", "attachments": [{"contentType":
  "application/vnd.microsoft.card.adaptive", "contentUrl": null, "content": <AdaptiveCard>}]}``.
- Standard Webhooks: https://www.standardwebhooks.com/ (spec:
  https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md):
  ``webhook-signature`` is ``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`` with the
  base64-decoded ``whsec_`` secret. Verified here independently of Rampart's code.
"""

from __future__ import annotations

import asyncio
import base64
import email
import email.policy
import hashlib
import hmac
import json
import os
import re
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any
from uuid import UUID

import pytest
import uvicorn
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from rampart.core.messages import ApprovalNotified, ApprovalRequested
from services.approvals.tests._harness import Owner, Rampart, eventually
from tests._processes import free_port

WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"rampart-test-webhook-secret-32by").decode()
LINK_SECRET = "test-link-secret-" + "x" * 32
RETRY_BASE_S = 60
LINK = re.compile(r"https?://[^\s\"'<>]+/api/v1/approve/[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+")


@dataclass
class Mail:
    """One message the SMTP server accepted."""

    rcpt_tos: list[str]
    message: EmailMessage

    @property
    def text(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        assert part is not None
        return str(part.get_content())

    @property
    def html(self) -> str:
        part = self.message.get_body(preferencelist=("html",))
        assert part is not None
        return str(part.get_content())

    def link(self) -> str:
        found = LINK.findall(self.text)
        assert len(found) == 1, self.text
        return str(found[0])


@dataclass
class Mailbox:
    """A real SMTP server on a local port and what it received."""

    port: int
    mails: list[Mail] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.mails.append(Mail(list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[Mail]:
        return [m for m in self.mails if address in m.rcpt_tos]


@pytest.fixture
def smtp() -> Iterator[Mailbox]:
    """An aiosmtpd server for the test."""
    box = Mailbox(free_port())
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


@dataclass
class Received:
    """One request a fake chat or webhook endpoint took."""

    kind: str
    name: str
    headers: dict[str, str]
    body: bytes
    json: Any
    accepted: bool
    problem: str = ""


def _slack_problem(body: Any) -> str:
    """Why Slack would refuse this incoming-webhook body, or ''."""
    if not isinstance(body, dict) or not (body.get("text") or body.get("blocks")):
        return "no_text"
    for block in body.get("blocks", []):
        kind = block.get("type")
        if kind == "header":
            text = block.get("text", {})
            if text.get("type") != "plain_text" or not 0 < len(text.get("text", "")) <= 150:
                return "invalid_blocks: header"
        elif kind == "section":
            fields = block.get("fields", [])
            text = block.get("text")
            if len(fields) > 10 or (text is None and not fields):
                return "invalid_blocks: section"
            for item in [*fields, *([text] if text else [])]:
                limit = 2000 if item is not text else 3000
                if item.get("type") not in ("plain_text", "mrkdwn") or len(item["text"]) > limit:
                    return "invalid_blocks: section text"
        elif kind == "actions":
            for element in block.get("elements", []):
                if element.get("type") != "button":
                    return "invalid_blocks: actions"
                if element.get("text", {}).get("type") != "plain_text":
                    return "invalid_blocks: button text"
                if len(element.get("url", "")) > 3000 or len(element.get("action_id", "")) > 255:
                    return "invalid_blocks: button"
        elif kind not in ("context", "divider", "image", "rich_text"):
            return f"invalid_blocks: {kind}"
    return ""


def _teams_problem(body: Any) -> str:
    """Why Teams would refuse this incoming-webhook body, or ''."""
    if not isinstance(body, dict) or body.get("type") != "message":
        return "the envelope's type must be 'message'"
    attachments = body.get("attachments")
    if not isinstance(attachments, list) or len(attachments) != 1:
        return "one attachment is expected"
    attachment = attachments[0]
    if attachment.get("contentType") != "application/vnd.microsoft.card.adaptive":
        return "contentType must be application/vnd.microsoft.card.adaptive"
    card = attachment.get("content", {})
    if card.get("type") != "AdaptiveCard" or not re.fullmatch(r"1\.[0-6]", card.get("version", "")):
        return "content must be an AdaptiveCard with a version"
    if not isinstance(card.get("body"), list) or not card["body"]:
        return "an AdaptiveCard needs a body"
    for element in card["body"]:
        if element.get("type") not in ("TextBlock", "FactSet", "Container", "ColumnSet"):
            return f"unknown element {element.get('type')}"
        if element["type"] == "FactSet" and not all(
            isinstance(f.get("title"), str) and isinstance(f.get("value"), str)
            for f in element.get("facts", [])
        ):
            return "facts need a string title and value"
    for action in card.get("actions", []):
        if action.get("type") != "Action.OpenUrl" or not action.get("url"):
            return "Action.OpenUrl needs a url"
    return ""


def verify_standard_webhook(headers: dict[str, str], body: bytes, secret: str) -> str:
    """Why this request is not signed with ``secret``, or ''."""
    webhook_id = headers.get("webhook-id", "")
    stamp = headers.get("webhook-timestamp", "")
    signatures = headers.get("webhook-signature", "")
    if not (webhook_id and stamp.isdigit() and signatures):
        return "webhook-id, webhook-timestamp and webhook-signature are required"
    if abs(time.time() - int(stamp)) > 300:
        return "webhook-timestamp is outside the tolerance"
    key = base64.b64decode(secret.removeprefix("whsec_"))
    expected = base64.b64encode(
        hmac.new(key, f"{webhook_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
    ).decode()
    for entry in signatures.split(" "):
        version, _, value = entry.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            return ""
    return "no signature matches"


@dataclass
class Chat:
    """The fake Slack, Teams and webhook endpoints on one local HTTP server."""

    url: str
    received: list[Received] = field(default_factory=list)
    failing: dict[str, int] = field(default_factory=dict)

    def slack(self, name: str) -> str:
        return f"{self.url}/slack/{name}"

    def teams(self, name: str) -> str:
        return f"{self.url}/teams/{name}"

    def hook(self, name: str) -> str:
        return f"{self.url}/hooks/{name}"

    def got(self, kind: str, name: str) -> list[Received]:
        return [r for r in self.received if r.kind == kind and r.name == name]

    async def endpoint(self, request: Request) -> Response:
        kind, name = request.path_params["kind"], request.path_params["name"]
        body = await request.body()
        headers = {k.lower(): v for k, v in request.headers.items()}
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        if name in self.failing:
            self.received.append(Received(kind, name, headers, body, parsed, False, "failing"))
            return PlainTextResponse("unavailable", status_code=self.failing[name])
        if kind == "slack":
            problem = _slack_problem(parsed)
            answer = (PlainTextResponse("ok"), PlainTextResponse(problem, status_code=400))
        elif kind == "teams":
            problem = _teams_problem(parsed)
            answer = (PlainTextResponse("1"), PlainTextResponse(problem, status_code=400))
        else:
            problem = verify_standard_webhook(headers, body, WEBHOOK_SECRET)
            answer = (Response(status_code=204), PlainTextResponse(problem, status_code=401))
        self.received.append(Received(kind, name, headers, body, parsed, not problem, problem))
        return answer[1] if problem else answer[0]


@pytest.fixture
async def chat() -> AsyncIterator[Chat]:
    """The fake chat and webhook server for the test."""
    port = free_port()
    fake = Chat(f"http://127.0.0.1:{port}")
    app = Starlette(routes=[Route("/{kind}/{name}", fake.endpoint, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None))
    serving = asyncio.create_task(server.serve())
    for _ in range(200):
        if server.started:
            break
        await asyncio.sleep(0.02)
    assert server.started
    try:
        yield fake
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, 30)


@pytest.fixture
def notify_env(monkeypatch: pytest.MonkeyPatch, smtp: Mailbox) -> Mailbox:
    """Point the approvals service's notifications at the local SMTP server; request it
    before ``rampart`` so the service starts with these settings."""
    for name, value in {
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp.port),
        "SMTP_FROM": "rampart@soc.example",
        "WEBHOOK_SECRET": WEBHOOK_SECRET,
        "LINK_SECRET": LINK_SECRET,
        "RETRY_BASE_S": str(RETRY_BASE_S),
        "ATTEMPTS_PER_CHANNEL": "3",
        "INTERVAL_S": "0.05",
        "SEND_TIMEOUT_S": "5",
    }.items():
        monkeypatch.setenv(f"RAMPART_APPROVALS_{name}", value)
    assert os.environ["RAMPART_APPROVALS_SMTP_PORT"] == str(smtp.port)
    return smtp


async def contact_owner(rampart: Rampart, name: str, **contacts: str) -> Owner:
    """A person with contact channels and an approver token."""
    made = await rampart.admin.post(
        "/api/v1/owners", json={"name": name, "kind": "person", **contacts}
    )
    assert made.status_code == 201, made.text
    owner_id = UUID(made.json()["id"])
    token = await rampart.admin.post(f"/api/v1/owners/{owner_id}/approver-tokens")
    assert token.status_code in (200, 201), token.text
    return Owner(owner_id, name, token.json()["token"])


async def opened(rampart: Rampart, request: ApprovalRequested) -> str:
    """Send the broker's request; the approval's id once it exists."""
    await rampart.send(request)

    async def found() -> str | None:
        listed = await rampart.admin.get("/api/v1/approvals", params={"limit": 500})
        hits = [a["id"] for a in listed.json() if a["action_run_id"] == str(request.action_run_id)]
        return hits[0] if hits else None

    approval_id: str = await eventually(found)
    return approval_id


def told(rampart: Rampart, approval_id: str) -> list[ApprovalNotified]:
    return [m for m in rampart.messages(ApprovalNotified) if str(m.approval_id) == approval_id]


async def history(rampart: Rampart, approval_id: str) -> list[dict[str, Any]]:
    detail = await rampart.admin.get(f"/api/v1/approvals/{approval_id}")
    assert detail.status_code == 200, detail.text
    entries: list[dict[str, Any]] = detail.json()["history"]
    return entries
