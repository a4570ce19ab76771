"""A fake Slack: the Web API's ``chat.postMessage`` and ``auth.test``, and incoming webhooks.

Follows Slack's published documentation:
- ``chat.postMessage`` — https://api.slack.com/methods/chat.postMessage (``POST
  https://slack.com/api/chat.postMessage``, the token as ``Authorization: Bearer``, JSON or
  form body; ``channel`` an id or a name, a user id posts to the app's direct message; ``text``
  or ``blocks`` required; HTTP 200 with ``{"ok": true, "channel", "ts", "message"}``, or HTTP
  200 with ``{"ok": false, "error": ...}``: ``not_authed``, ``invalid_auth``,
  ``channel_not_found``, ``not_in_channel``, ``is_archived``, ``no_text``, ``msg_too_long``
  over 40 000 characters of text)
- ``auth.test`` — https://api.slack.com/methods/auth.test (``ok``, ``url``, ``team``,
  ``user``, ``team_id``, ``user_id``, ``bot_id``)
- "Sending messages using incoming webhooks" — https://api.slack.com/messaging/webhooks
  (``POST`` a JSON body with ``text`` to the secret URL ``/services/T…/B…/…``; ``ok`` as the
  text body) and its error changelog,
  https://api.slack.com/changelog/2016-05-17-changes-to-errors-for-incoming-webhooks
  (plain-text errors: 400 ``invalid_payload``, 403 ``action_prohibited``, 404
  ``channel_not_found`` and ``no_service`` for a URL Slack does not know, 410
  ``channel_is_archived``); a body without text is 400 ``no_text``
- "Rate limits" — https://api.slack.com/docs/rate-limits (HTTP 429 with ``Retry-After`` in
  seconds, for the Web API and incoming webhooks alike; scripted here through ``faults``)
"""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from connectors.tests.fakes._serve import Faults, with_faults

MAX_TEXT = 40_000


@dataclass
class Channel:
    id: str
    name: str
    member: bool = True
    archived: bool = False


@dataclass
class FakeSlack:
    """One workspace: channels, a bot token, webhooks by their secret path, what was posted."""

    bot_token: str = "xoxb-1111-2222-fakeBotTokenValue"
    channels: dict[str, Channel] = field(
        default_factory=lambda: {
            c.id: c
            for c in (
                Channel("C0SOC0001", "soc"),
                Channel("C0OPS0002", "ops", member=False),
                Channel("C0OLD0003", "old-alerts", archived=True),
            )
        }
    )
    users: set[str] = field(default_factory=lambda: {"U0ANN0001"})
    webhooks: dict[str, str] = field(
        default_factory=lambda: {"/services/T0RAMPART/B0HOOK0001/hookSecretValue0123": "C0SOC0001"}
    )
    posted: list[dict[str, Any]] = field(default_factory=list)
    faults: Faults = field(default_factory=Faults)

    @property
    def webhook_path(self) -> str:
        return next(iter(self.webhooks))

    def channel(self, wanted: str) -> Channel | None:
        name = wanted.removeprefix("#")
        return self.channels.get(wanted) or next(
            (c for c in self.channels.values() if c.name == name), None
        )

    def _ts(self) -> str:
        return f"1712345678.{len(self.posted) + 1:06d}"

    def app(self) -> Any:
        async def arguments(request: Request) -> dict[str, Any]:
            raw = await request.body()
            if request.headers.get("content-type", "").startswith("application/json"):
                body = json.loads(raw or b"{}")
                return body if isinstance(body, dict) else {}
            return dict(urllib.parse.parse_qsl(raw.decode()))

        def refused(error: str) -> JSONResponse:
            return JSONResponse({"ok": False, "error": error})

        def unauthenticated(request: Request, args: dict[str, Any]) -> JSONResponse | None:
            given = request.headers.get("authorization", "")
            token = given.removeprefix("Bearer ") if given.startswith("Bearer ") else None
            token = token or args.get("token")
            if not token:
                return refused("not_authed")
            return refused("invalid_auth") if token != self.bot_token else None

        async def post_message(request: Request) -> Response:
            args = await arguments(request)
            if (no := unauthenticated(request, args)) is not None:
                return no
            text, to = args.get("text") or "", str(args.get("channel") or "")
            if to in self.users:
                channel = Channel("D0" + to[2:], "direct message")
            else:
                found = self.channel(to)
                if found is None:
                    return refused("channel_not_found")
                if found.archived:
                    return refused("is_archived")
                if not found.member:
                    return refused("not_in_channel")
                channel = found
            if not text and not args.get("blocks"):
                return refused("no_text")
            if len(text) > MAX_TEXT:
                return refused("msg_too_long")
            ts = self._ts()
            self.posted.append({"via": "chat.postMessage", "channel": channel.id, "text": text})
            message = {"type": "message", "text": text, "bot_id": "B0BOT0001", "ts": ts}
            return JSONResponse({"ok": True, "channel": channel.id, "ts": ts, "message": message})

        async def auth_test(request: Request) -> Response:
            if (no := unauthenticated(request, await arguments(request))) is not None:
                return no
            return JSONResponse(
                {
                    "ok": True,
                    "url": "https://rampart-test.slack.com/",
                    "team": "Rampart Test",
                    "user": "rampart",
                    "team_id": "T0RAMPART",
                    "user_id": "U0BOT0001",
                    "bot_id": "B0BOT0001",
                }
            )

        async def webhook(request: Request) -> Response:
            channel_id = self.webhooks.get(request.url.path)
            if channel_id is None:
                return PlainTextResponse("no_service", 404)
            try:
                body = json.loads(await request.body())
            except ValueError:
                return PlainTextResponse("invalid_payload", 400)
            if not isinstance(body, dict):
                return PlainTextResponse("invalid_payload", 400)
            channel = self.channels[channel_id]
            if channel.archived:
                return PlainTextResponse("channel_is_archived", 410)
            text = body.get("text")
            if not isinstance(text, str) or not text:
                return PlainTextResponse("no_text", 400)
            self.posted.append({"via": "webhook", "channel": channel_id, "text": text})
            return PlainTextResponse("ok")

        app = Starlette(
            routes=[
                Route("/api/chat.postMessage", post_message, methods=["POST"]),
                Route("/api/auth.test", auth_test, methods=["POST", "GET"]),
                Route("/services/{team}/{hook}/{secret}", webhook, methods=["POST"]),
            ]
        )
        return with_faults(app, self.faults)
