"""The slack connector against a fake Slack that follows Slack's published API documents.

Documents the fake follows (cited in full in ``fakes/slack.py``):
``chat.postMessage``, https://api.slack.com/methods/chat.postMessage; ``auth.test``,
https://api.slack.com/methods/auth.test; "Sending messages using incoming webhooks",
https://api.slack.com/messaging/webhooks, with its errors,
https://api.slack.com/changelog/2016-05-17-changes-to-errors-for-incoming-webhooks;
"Rate limits", https://api.slack.com/docs/rate-limits.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from connectors.tests.fakes.slack import FakeSlack
from rampart.connectors.slack import SlackConnector
from rampart.sdk.connector import ActionError, InvalidConfiguration, TargetUnavailable
from rampart.sdk.testing import ConnectorHarness

HOOKS = "https://hooks.slack.example"


def harness(fake: FakeSlack, **config: Any) -> ConnectorHarness[SlackConnector]:
    given: dict[str, Any] = {
        "url": "https://slack.example",
        "bot_token": fake.bot_token,
        "webhooks": {"soc-hook": HOOKS + fake.webhook_path},
        **config,
    }
    return ConnectorHarness(
        SlackConnector,
        {k: v for k, v in given.items() if v is not None},
        http=httpx.ASGITransport(app=fake.app()),
    )


def test_the_declaration_matches_the_catalog() -> None:
    harness(FakeSlack()).check()


def test_an_asset_needs_a_bot_token_or_a_webhook_of_https() -> None:
    with pytest.raises(InvalidConfiguration, match="give bot_token, webhooks, or both"):
        harness(FakeSlack(), bot_token=None, webhooks={})
    with pytest.raises(InvalidConfiguration, match=r"config\.webhooks"):
        harness(FakeSlack(), webhooks={"x": "http://hooks.slack.example/services/T/B/plainhttp"})


async def test_chat_post_message_escapes_markup_and_answers_channel_and_ts() -> None:
    fake = FakeSlack()
    h = harness(fake)
    sent = await h.run(
        "send message",
        to=["#soc", "U0ANN0001"],
        subject="Malware on web-01",
        body="<!channel> isolate & see <https://evil.example|here>",
    )
    result = sent.model_dump()
    assert [(p["to"], p["via"], p["channel"]) for p in result["sent"]] == [
        ("#soc", "chat.postMessage", "C0SOC0001"),
        ("U0ANN0001", "chat.postMessage", "D0ANN0001"),
    ]
    assert result["sent"][0]["ts"] == "1712345678.000001"
    assert result["refused"] == {}
    assert fake.posted[0]["text"] == (
        "*Malware on web-01*\n&lt;!channel&gt; isolate &amp; see &lt;https://evil.example|here&gt;"
    )
    assert "#soc" in h.render("send message", sent)


async def test_a_webhook_name_posts_to_its_channel_beside_the_web_api() -> None:
    fake = FakeSlack()
    sent = await harness(fake).run("send message", to=["soc-hook", "#soc"], body="contained")
    assert [p["via"] for p in sent.model_dump()["sent"]] == ["webhook", "chat.postMessage"]
    assert [(p["via"], p["channel"], p["text"]) for p in fake.posted] == [
        ("webhook", "C0SOC0001", "contained"),
        ("chat.postMessage", "C0SOC0001", "contained"),
    ]


async def test_ok_false_refusals_are_kept_per_recipient_and_all_refused_fails() -> None:
    fake = FakeSlack()
    h = harness(fake)
    partly = await h.run("send message", to=["#soc", "#nope", "#ops"], body="x")
    assert partly.model_dump()["refused"] == {
        "#nope": "Slack's chat.postMessage refused: channel_not_found",
        "#ops": "Slack's chat.postMessage refused: not_in_channel",
    }
    with pytest.raises(ActionError, match=r"every recipient was refused: #old-alerts: .*archived"):
        await h.run("send message", to=["#old-alerts"], body="x")
    with pytest.raises(ActionError, match="msg_too_long"):
        await h.run("send message", to=["#soc"], body="y" * 40_001)
    assert len(fake.posted) == 1


async def test_a_wrong_token_is_slacks_invalid_auth_without_the_token() -> None:
    wrong = "xoxb-9999-not-the-right-token"
    with pytest.raises(ActionError, match="invalid_auth") as caught:
        await harness(FakeSlack(), bot_token=wrong).run("send message", to=["#soc"], body="x")
    assert wrong not in str(caught.value)


async def test_429_before_anything_was_sent_is_transient_with_its_retry_after() -> None:
    fake = FakeSlack()
    fake.faults.add(
        "/api/chat.postMessage",
        429,
        headers={"Retry-After": "17"},
        body={"ok": False, "error": "ratelimited"},
    )
    with pytest.raises(TargetUnavailable) as caught:
        await harness(fake).run("send message", to=["#soc", "U0ANN0001"], body="x")
    assert caught.value.retry_after == 17.0
    assert fake.posted == []


async def test_once_something_was_sent_a_busy_slack_is_a_refusal_not_a_retry() -> None:
    fake = FakeSlack()
    fake.faults.add("/api/chat.postMessage", 200, body={"ok": False, "error": "internal_error"})
    with pytest.raises(TargetUnavailable, match="internal_error"):
        await harness(fake).run("send message", to=["#soc"], body="x")
    fake.faults.add("/api/chat.postMessage", 503, headers={"Retry-After": "5"}, body={"ok": False})
    sent = await harness(fake).run("send message", to=["soc-hook", "#soc"], body="x")
    result = sent.model_dump()
    assert [p["to"] for p in result["sent"]] == ["soc-hook"]
    assert result["refused"]["#soc"].startswith("not sent, the product was busy: ")
    assert [p["via"] for p in fake.posted] == ["webhook"]


async def test_a_webhook_slack_does_not_know_fails_without_showing_its_url() -> None:
    fake = FakeSlack()
    unknown = HOOKS + "/services/T0RAMPART/B0GONE/goneSecretValue987"
    h = harness(fake, bot_token=None, webhooks={"gone": unknown})
    with pytest.raises(ActionError, match="404: no_service") as caught:
        await h.run("send message", to=["gone"], body="x")
    assert "goneSecretValue987" not in str(caught.value)
    with pytest.raises(ActionError, match="none of this asset's webhooks and it has no bot_token"):
        await h.run("send message", to=["#soc"], body="x")
    fake.channels["C0SOC0001"].archived = True
    with pytest.raises(ActionError, match="410: channel_is_archived"):
        await harness(fake).run("send message", to=["soc-hook"], body="x")


async def test_test_connectivity_checks_the_token_and_each_webhook_posting_nothing() -> None:
    fake = FakeSlack()
    who = (await harness(fake).run("test connectivity")).model_dump()
    assert who == {
        "team": "Rampart Test",
        "team_id": "T0RAMPART",
        "user": "rampart",
        "bot_id": "B0BOT0001",
        "webhooks": ["soc-hook"],
    }
    assert fake.posted == []
    gone = {"gone": HOOKS + "/services/T0RAMPART/B0GONE/goneSecretValue987"}
    with pytest.raises(ActionError, match=r"webhook 'gone': .*404: no_service") as caught:
        await harness(fake, webhooks=gone).run("test connectivity")
    assert "goneSecretValue987" not in str(caught.value)
    with pytest.raises(ActionError, match=r"auth\.test refused: invalid_auth"):
        await harness(fake, bot_token="xoxb-0000-wrong-token").run("test connectivity")
