"""The teams connector against a fake of Teams' incoming webhooks, after Microsoft's documents.

Documents the fake follows (cited in full in ``fakes/teams.py``): "Create and send messages",
https://learn.microsoft.com/en-us/microsoftteams/platform/webhooks-and-connectors/how-to/connectors-using;
"Create an Incoming Webhook",
https://learn.microsoft.com/en-us/microsoftteams/platform/webhooks-and-connectors/how-to/add-incoming-webhook;
Microsoft's answers on HTTP 200 with "1" and errors in 200 text bodies, MicrosoftDocs/msteams-docs
issues #402, #1810, #7425, #9064; Azure Logic Apps "Receive and respond to inbound HTTPS calls",
https://learn.microsoft.com/en-us/azure/connectors/connectors-native-reqres (Workflows: 202).
"""

from __future__ import annotations

import logging

import httpx
import pytest

from connectors.tests.fakes.teams import FakeTeams
from rampart.connectors.teams import TeamsConnector
from rampart.sdk.connector import ActionError, InvalidConfiguration, TargetUnavailable
from rampart.sdk.testing import ConnectorHarness

TENANT = "https://contoso.webhook.office.example"
FLOWS = "https://prod-00.westus.logic.azure.example:443"


def harness(fake: FakeTeams, **webhooks: str) -> ConnectorHarness[TeamsConnector]:
    given = webhooks or {
        "SOC": TENANT + fake.connector_path,
        "IR": FLOWS + fake.workflow_path,
    }
    return ConnectorHarness(
        TeamsConnector, {"webhooks": given}, http=httpx.ASGITransport(app=fake.app())
    )


def test_the_declaration_matches_the_catalog() -> None:
    harness(FakeTeams()).check()


def test_an_asset_needs_at_least_one_https_webhook() -> None:
    with pytest.raises(InvalidConfiguration, match=r"config\.webhooks"):
        ConnectorHarness(TeamsConnector, {"webhooks": {}})
    with pytest.raises(InvalidConfiguration, match=r"config\.webhooks"):
        ConnectorHarness(TeamsConnector, {"webhooks": {"SOC": "http://x.example/webhookb2/a"}})


async def test_an_adaptive_card_reaches_a_connector_and_a_workflow_webhook() -> None:
    fake = FakeTeams()
    h = harness(fake)
    sent = await h.run(
        "send message", to=["SOC", "IR"], subject="Malware on web-01", body="[click](https://x)"
    )
    assert sent.model_dump() == {"sent": ["SOC", "IR"], "refused": {}}
    assert fake.posted == [
        {
            "via": "connector",
            "channel": "SOC",
            "texts": ["Malware on web-01", "[click](https://x)"],
        },
        {"via": "workflow", "channel": "IR", "texts": ["Malware on web-01", "[click](https://x)"]},
    ]
    assert "SOC" in h.render("send message", sent)


async def test_a_refusal_inside_a_200_is_a_refusal_and_throttling_inside_it_is_transient() -> None:
    fake = FakeTeams()
    fake.throttled_in_body = 1
    with pytest.raises(TargetUnavailable, match="returned HTTP error 429"):
        await harness(fake).run("send message", to=["SOC"], body="x")
    with pytest.raises(ActionError, match="returned HTTP error 413") as caught:
        await harness(fake).run("send message", to=["SOC"], body="y" * 30_000)
    assert "hookSecret" not in str(caught.value)
    fake.removed.add(fake.connector_path)
    partly = await harness(fake).run("send message", to=["SOC", "IR"], body="x")
    assert partly.model_dump()["sent"] == ["IR"]
    assert "HTTP error 400" in partly.model_dump()["refused"]["SOC"]
    assert [p["channel"] for p in fake.posted] == ["IR"]


async def test_429_is_transient_with_its_retry_after_and_nothing_is_sent_twice() -> None:
    fake = FakeTeams()
    fake.faults.add("/webhookb2/", 429, headers={"Retry-After": "9"}, body={"error": "throttled"})
    with pytest.raises(TargetUnavailable) as caught:
        await harness(fake).run("send message", to=["SOC", "IR"], body="x")
    assert caught.value.retry_after == 9.0
    assert fake.posted == []


async def test_unknown_names_and_a_wrong_signature_fail_without_showing_the_url(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake = FakeTeams()
    with pytest.raises(ActionError, match=r"'ops' is none of this asset's webhooks \(IR, SOC\)"):
        await harness(fake).run("send message", to=["ops"], body="x")
    forged = FLOWS + fake.workflow_path.replace("wfSig-0123456789", "wfSig-forged-999")
    with (
        caplog.at_level(logging.INFO, logger="httpx"),
        pytest.raises(ActionError, match="401: The provided authorization signature") as caught,
    ):
        await harness(fake, IR=forged).run("send message", to=["IR"], body="x")
    assert "wfSig-forged-999" not in str(caught.value)
    assert "5b6c7d8e0001" not in str(caught.value)
    assert caplog.records
    assert all("wfSig" not in r.getMessage() for r in caplog.records)


async def test_test_connectivity_checks_each_webhook_and_posts_nothing_to_a_channel() -> None:
    fake = FakeTeams()
    checked = await harness(fake).run("test connectivity")
    assert checked.model_dump() == {"webhooks": ["IR", "SOC"]}
    assert fake.posted == []
    gone = TENANT + "/webhookb2/0000@0000/IncomingWebhook/gone/goneHookSecret"
    with pytest.raises(ActionError, match=r"webhook 'SOC': .*404") as caught:
        await harness(fake, SOC=gone).run("test connectivity")
    assert "goneHookSecret" not in str(caught.value)
