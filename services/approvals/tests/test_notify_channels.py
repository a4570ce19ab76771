"""Owners are told where they are: e-mail, Slack, Teams and a signed webhook, on every stage.

The SMTP server is a real one (aiosmtpd); Slack, Teams and the webhook receiver are local
fakes that check each request against the vendor's published format (see ``_notify_fakes``
for the documents: api.slack.com/messaging/webhooks and the Block Kit reference,
learn.microsoft.com "Create an Incoming Webhook" and the Adaptive Card format, and the
Standard Webhooks specification).
"""

from __future__ import annotations

import json
from datetime import timedelta
from uuid import uuid4

import httpx

from services.approvals.tests._harness import Rampart, approval_request, eventually
from services.approvals.tests._notify_fakes import (
    Chat,
    Mailbox,
    chat,
    contact_owner,
    history,
    notify_env,
    opened,
    smtp,
    told,
)

__all__ = ["chat", "notify_env", "smtp"]


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid4().hex[:8]}"


async def test_a_new_stage_emails_the_assignee_a_link_to_decide(
    notify_env: Mailbox, rampart: Rampart
) -> None:
    name = _name("alice")
    address = f"{name}@soc.example"
    alice = await contact_owner(rampart, name, email=address)
    approval_id = await opened(rampart, approval_request(("primary", [alice.id], 30)))
    mail = (await eventually(lambda: notify_env.to(address)))[0]
    assert mail.message["To"] == address
    assert mail.message["From"] == "rampart@soc.example"
    assert mail.message["Subject"] == (
        "Approval needed: terminate process on web-01 (primary stage, 30 min left)"
    )
    link = mail.link()
    assert link.startswith(f"{rampart.url}/api/v1/approve/")
    assert f'href="{link}"' in mail.html
    assert '"pid": 4242' in mail.text
    assert "Requested by: playbook:contain-malware:run-1" in mail.text
    async with httpx.AsyncClient() as anonymous:
        page = await anonymous.get(link)
    assert page.status_code == 200, page.text
    assert "terminate process" in page.text
    sent = await eventually(lambda: told(rampart, approval_id))
    assert [(m.channel, m.delivered, m.recipient, m.stage) for m in sent] == [
        ("email", True, str(alice.id), "primary")
    ]
    notified = [h for h in await history(rampart, approval_id) if h["kind"] == "notified"]
    assert [(h["actor"], h["channel"], h["detail"]["reason"]) for h in notified] == [
        (str(alice.id), "email", "stage")
    ]


async def test_each_member_of_a_group_gets_their_own_link(
    notify_env: Mailbox, rampart: Rampart
) -> None:
    names = [_name("alice"), _name("carol")]
    people = [await contact_owner(rampart, n, email=f"{n}@soc.example") for n in names]
    team = await rampart.group(_name("web-team"), people)
    await opened(rampart, approval_request(("primary", [team], 30)))
    mails = [(await eventually(lambda n=n: notify_env.to(f"{n}@soc.example")))[0] for n in names]
    links = {m.link() for m in mails}
    assert len(links) == 2
    assert all(len(notify_env.to(f"{n}@soc.example")) == 1 for n in names)


async def test_slack_gets_a_block_kit_message_with_the_link(
    notify_env: Mailbox, chat: Chat, rampart: Rampart
) -> None:
    name = _name("alice")
    alice = await contact_owner(rampart, name, slack_webhook_url=chat.slack(name))
    approval_id = await opened(rampart, approval_request(("primary", [alice.id], 30)))
    posted = (await eventually(lambda: chat.got("slack", name)))[0]
    assert posted.accepted, posted.problem
    assert posted.headers["content-type"] == "application/json"
    body = posted.json
    assert body["text"] == (
        "Approval needed: terminate process on web-01 (primary stage, 30 min left)"
    )
    header = body["blocks"][0]
    assert header == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Your approval is needed at the primary stage."},
    }
    fields = [f["text"] for f in body["blocks"][1]["fields"]]
    assert "*Asset*\nweb-01" in fields
    button = body["blocks"][-1]["elements"][0]
    assert button["url"].startswith(f"{rampart.url}/api/v1/approve/")
    sent = await eventually(lambda: told(rampart, approval_id))
    assert [(m.channel, m.delivered) for m in sent] == [("slack", True)]


async def test_teams_gets_an_adaptive_card_with_the_link(
    notify_env: Mailbox, chat: Chat, rampart: Rampart
) -> None:
    name = _name("alice")
    alice = await contact_owner(rampart, name, teams_webhook_url=chat.teams(name))
    approval_id = await opened(rampart, approval_request(("primary", [alice.id], 30)))
    posted = (await eventually(lambda: chat.got("teams", name)))[0]
    assert posted.accepted, posted.problem
    card = posted.json["attachments"][0]["content"]
    facts = {f["title"]: f["value"] for f in card["body"][1]["facts"]}
    assert facts["Action"] == "terminate process"
    assert facts["Time left"] == "30 min"
    assert card["actions"][0]["type"] == "Action.OpenUrl"
    assert card["actions"][0]["url"].startswith(f"{rampart.url}/api/v1/approve/")
    sent = await eventually(lambda: told(rampart, approval_id))
    assert [(m.channel, m.delivered) for m in sent] == [("teams", True)]


async def test_a_webhook_is_signed_the_standard_webhooks_way(
    notify_env: Mailbox, chat: Chat, rampart: Rampart
) -> None:
    name = _name("alice")
    alice = await contact_owner(rampart, name, webhook_url=chat.hook(name))
    approval_id = await opened(rampart, approval_request(("primary", [alice.id], 30)))
    posted = (await eventually(lambda: chat.got("hooks", name)))[0]
    assert posted.accepted, posted.problem
    assert posted.headers["webhook-signature"].startswith("v1,")
    event = json.loads(posted.body)
    assert event["type"] == "approval.stage"
    assert event["data"]["approval_id"] == approval_id
    assert event["data"]["params"] == {"pid": 4242}
    assert event["data"]["decision_url"].startswith(f"{rampart.url}/api/v1/approve/")
    sent = await eventually(lambda: told(rampart, approval_id))
    assert [(m.channel, m.delivered) for m in sent] == [("webhook", True)]


async def test_a_breach_tells_the_primary_and_asks_the_secondary(
    notify_env: Mailbox, rampart: Rampart
) -> None:
    names = [_name("alice"), _name("bob")]
    alice, bob = [await contact_owner(rampart, n, email=f"{n}@soc.example") for n in names]
    request = approval_request(("primary", [alice.id], 30), ("secondary", [bob.id], 60))
    approval_id = await opened(rampart, request)
    await eventually(lambda: notify_env.to(f"{names[0]}@soc.example"))
    rampart.clock.advance(timedelta(minutes=30))
    asked = (await eventually(lambda: notify_env.to(f"{names[1]}@soc.example")))[0]
    assert asked.message["Subject"] == (
        "Approval needed: terminate process on web-01 (secondary stage, 1 h left)"
    )
    assert asked.link()
    breach = (await eventually(lambda: notify_env.to(f"{names[0]}@soc.example")[1:]))[0]
    assert breach.message["Subject"] == (
        "Approval time passed: terminate process on web-01 (moved to the secondary stage)"
    )
    assert "/api/v1/approve/" not in breach.text
    sent = await eventually(
        lambda: len(told(rampart, approval_id)) == 3 and told(rampart, approval_id)
    )
    assert sorted((m.recipient, m.stage, m.detail) for m in sent) == sorted(
        [
            (str(alice.id), "primary", "stage"),
            (str(alice.id), "primary", "breach"),
            (str(bob.id), "secondary", "stage"),
        ]
    )
