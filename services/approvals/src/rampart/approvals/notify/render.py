"""What a notification says, in each channel's format: e-mail, Slack Block Kit, a Teams
Adaptive Card, a Standard Webhooks event."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from typing import Any, Protocol
from uuid import UUID

from jinja2 import Environment, PackageLoader, select_autoescape

from rampart.approvals.notify.store import Reason

templates = Environment(
    loader=PackageLoader("rampart.approvals.notify", "templates"),
    autoescape=select_autoescape(disabled_extensions=("txt",), default=True),
)


MAIL_POLICY = SMTP.clone(max_line_length=998)


class Renderable(Protocol):
    """A notice every channel can send: an e-mail, Slack and Teams messages, a webhook event."""

    @property
    def notification_id(self) -> UUID:
        """The notification row it tells of (the webhook's id, the e-mail's Message-ID)."""
        ...

    def email(self, *, sender: str, to: str) -> EmailMessage:
        """The notice as an e-mail."""
        ...

    def slack(self) -> dict[str, Any]:
        """The notice as a Slack incoming-webhook message."""
        ...

    def teams(self) -> dict[str, Any]:
        """The notice as a Teams incoming-webhook message."""
        ...

    def event(self) -> dict[str, Any]:
        """The notice as a Standard Webhooks event body."""
        ...


def time_left(due_at: datetime, now: datetime) -> str:
    """``1 h 5 min`` until ``due_at``; ``0 min`` once it passed."""
    minutes = max(0, int((due_at - now).total_seconds() // 60))
    hours, minutes = divmod(minutes, 60)
    if not hours:
        return f"{minutes} min"
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def params_text(params: dict[str, Any]) -> str:
    """An action's parameters as people read them."""
    return json.dumps(params, indent=2, sort_keys=True, ensure_ascii=False, default=str)


@dataclass(frozen=True, slots=True)
class Notice:
    """One assignee's notification about one approval."""

    notification_id: UUID
    reason: Reason
    approval_id: UUID
    action: str
    asset: str
    connector: str | None
    params: dict[str, Any]
    requested_by: str
    stage: str
    due_at: datetime
    now: datetime
    recipient: str
    link: str | None
    outcome: str | None = None

    @property
    def subject(self) -> str:
        """A one-line summary: an e-mail's subject, a chat message's fallback text."""
        what = f"{self.action} on {self.asset}"
        if self.reason == "breach":
            return f"Approval time passed: {what} ({self.outcome or 'closed'})"
        left = time_left(self.due_at, self.now)
        if self.reason == "warning":
            return f"Reminder, {left} left to approve: {what} ({self.stage} stage)"
        return f"Approval needed: {what} ({self.stage} stage, {left} left)"

    @property
    def headline(self) -> str:
        """What the recipient is asked."""
        if self.reason == "breach":
            return f"The {self.stage} stage's time passed; the approval {self.outcome or 'closed'}."
        return f"Your approval is needed at the {self.stage} stage."

    def facts(self) -> list[tuple[str, str]]:
        """What will run, where, for whom, and how long is left."""
        found = [
            ("Action", self.action),
            ("Asset", self.asset),
            ("Connector", self.connector or "(the asset's)"),
            ("Requested by", self.requested_by),
            ("Stage", self.stage),
        ]
        if self.reason != "breach":
            found.append(("Time left", time_left(self.due_at, self.now)))
        return found

    def email(self, *, sender: str, to: str) -> EmailMessage:
        """The notice as an e-mail with a plain-text and an HTML part."""
        # unfolded headers: a subject folded right after "Subject:" reads with a leading space
        message = EmailMessage(policy=MAIL_POLICY)
        message["From"] = sender
        message["To"] = to
        message["Subject"] = self.subject
        message["Message-ID"] = f"<{self.notification_id}@rampart.approvals>"
        context = {"notice": self, "params": params_text(self.params)}
        message.set_content(templates.get_template("email.txt").render(context))
        message.add_alternative(
            templates.get_template("email.html").render(context), subtype="html"
        )
        return message

    def slack(self) -> dict[str, Any]:
        """A Slack incoming-webhook message in Block Kit."""
        blocks: list[dict[str, Any]] = [
            {"type": "header", "text": {"type": "plain_text", "text": self.headline[:150]}},
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": f"*{name}*\n{_slack_escape(value)}"[:2000]}
                    for name, value in self.facts()
                ],
            },
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": f"*Parameters*\n```{_slack_escape(params_text(self.params))}```"[:3000],
                },
            },
        ]
        if self.link:
            blocks.append(
                {
                    "type": "actions",
                    "elements": [
                        {
                            "type": "button",
                            "action_id": "review",
                            "text": {"type": "plain_text", "text": "Review and decide"},
                            "style": "primary",
                            "url": self.link,
                        }
                    ],
                }
            )
        return {"text": self.subject, "blocks": blocks}

    def teams(self) -> dict[str, Any]:
        """A Teams incoming-webhook message: an Adaptive Card in the message envelope."""
        card: dict[str, Any] = {
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "type": "AdaptiveCard",
            "version": "1.4",
            "body": [
                {"type": "TextBlock", "text": self.headline, "weight": "Bolder", "wrap": True},
                {
                    "type": "FactSet",
                    "facts": [{"title": name, "value": value} for name, value in self.facts()],
                },
                {
                    "type": "TextBlock",
                    "text": params_text(self.params),
                    "fontType": "Monospace",
                    "wrap": True,
                },
            ],
        }
        if self.link:
            card["actions"] = [
                {"type": "Action.OpenUrl", "title": "Review and decide", "url": self.link}
            ]
        return {
            "type": "message",
            "attachments": [
                {
                    "contentType": "application/vnd.microsoft.card.adaptive",
                    "contentUrl": None,
                    "content": card,
                }
            ],
        }

    def event(self) -> dict[str, Any]:
        """The Standard Webhooks event body: ``type``, ``timestamp`` and ``data``."""
        return {
            "type": f"approval.{self.reason}",
            "timestamp": self.now.isoformat(),
            "data": {
                "notification_id": str(self.notification_id),
                "approval_id": str(self.approval_id),
                "summary": self.subject,
                "action": self.action,
                "asset": self.asset,
                "connector": self.connector,
                "params": self.params,
                "requested_by": self.requested_by,
                "stage": self.stage,
                "due_at": self.due_at.isoformat(),
                "decision_url": self.link,
                "outcome": self.outcome,
            },
        }


def _slack_escape(text: str) -> str:
    # Slack's mrkdwn reads &, < and > as markup (links, mentions); data must not be markup
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
