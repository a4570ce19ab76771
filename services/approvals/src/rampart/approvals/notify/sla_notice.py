"""What an SLA notice says to a subject's owner, in each channel's format: e-mail, Slack
Block Kit, a Teams Adaptive Card, a Standard Webhooks event."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import Any, Literal
from uuid import UUID

from rampart.approvals.notify.render import MAIL_POLICY, templates, time_left

_WHAT = {"event": "Event", "phase": "Workbook phase", "task": "Workbook task"}


@dataclass(frozen=True, slots=True)
class SlaNotice:
    """One owner's notice of a warning or breach of one SLA timer."""

    notification_id: UUID
    reason: Literal["warning", "breach"]
    timer_id: UUID
    subject_kind: str
    subject_id: UUID
    event_id: UUID | None
    event_name: str | None
    severity: str | None
    due_at: datetime
    now: datetime
    recipient: str

    @property
    def what(self) -> str:
        """The subject as people name it."""
        kind = _WHAT.get(self.subject_kind, self.subject_kind)
        if self.subject_kind == "event":
            return f"{kind} {self.event_name or self.subject_id}"
        of = f" of event {self.event_name}" if self.event_name else ""
        return f"{kind} {self.subject_id}{of}"

    @property
    def subject(self) -> str:
        """A one-line summary: an e-mail's subject, a chat message's fallback text."""
        if self.reason == "breach":
            return f"SLA breached: {self.what}"
        return f"SLA warning, {time_left(self.due_at, self.now)} left: {self.what}"

    @property
    def headline(self) -> str:
        """What the owner is told."""
        if self.reason == "breach":
            return f"The SLA of {self.what} passed without it being met."
        return f"The SLA of {self.what} is about to pass."

    def facts(self) -> list[tuple[str, str]]:
        """Which subject, how severe, when due, how long is left."""
        found = [("Subject", self.what), ("Due", self.due_at.isoformat(timespec="seconds"))]
        if self.severity:
            found.append(("Severity", self.severity))
        if self.event_id is not None:
            found.append(("Event id", str(self.event_id)))
        if self.reason == "warning":
            found.append(("Time left", time_left(self.due_at, self.now)))
        return found

    def email(self, *, sender: str, to: str) -> EmailMessage:
        """The notice as an e-mail with a plain-text and an HTML part."""
        message = EmailMessage(policy=MAIL_POLICY)
        message["From"] = sender
        message["To"] = to
        message["Subject"] = self.subject
        message["Message-ID"] = f"<{self.notification_id}@rampart.slas>"
        context = {"notice": self}
        message.set_content(templates.get_template("sla_email.txt").render(context))
        message.add_alternative(
            templates.get_template("sla_email.html").render(context), subtype="html"
        )
        return message

    def slack(self) -> dict[str, Any]:
        """A Slack incoming-webhook message in Block Kit."""
        fields = [
            {"type": "mrkdwn", "text": f"*{name}*\n{_slack_escape(value)}"[:2000]}
            for name, value in self.facts()
        ]
        return {
            "text": self.subject,
            "blocks": [
                {"type": "header", "text": {"type": "plain_text", "text": self.headline[:150]}},
                {"type": "section", "fields": fields},
            ],
        }

    def teams(self) -> dict[str, Any]:
        """A Teams incoming-webhook message: an Adaptive Card in the message envelope."""
        card = {
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "type": "AdaptiveCard",
            "version": "1.4",
            "body": [
                {"type": "TextBlock", "text": self.headline, "weight": "Bolder", "wrap": True},
                {
                    "type": "FactSet",
                    "facts": [{"title": name, "value": value} for name, value in self.facts()],
                },
            ],
        }
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
            "type": f"sla.{self.reason}",
            "timestamp": self.now.isoformat(),
            "data": {
                "notification_id": str(self.notification_id),
                "timer_id": str(self.timer_id),
                "summary": self.subject,
                "subject_kind": self.subject_kind,
                "subject_id": str(self.subject_id),
                "event_id": None if self.event_id is None else str(self.event_id),
                "event_name": self.event_name,
                "severity": self.severity,
                "due_at": self.due_at.isoformat(),
            },
        }


def _slack_escape(text: str) -> str:
    # Slack's mrkdwn reads &, < and > as markup (links, mentions); data must not be markup
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
