"""The jira connector against a fake Jira Cloud site that follows Atlassian's REST API v3 docs.

Documents the fake follows (cited in full in ``fakes/jira.py``): "The Jira Cloud platform REST
API — Issues", https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issues/;
"Get current user", https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-myself/;
"Basic auth for REST APIs",
https://developer.atlassian.com/cloud/jira/platform/basic-auth-for-rest-apis/; "Atlassian
Document Format", https://developer.atlassian.com/cloud/jira/platform/apis/document/structure/;
"Rate limiting", https://developer.atlassian.com/cloud/jira/platform/rate-limiting/.
"""

from __future__ import annotations

import datetime
from typing import Any

import httpx
import pytest

from connectors.tests.fakes.jira import FakeJira, adf_text
from rampart.connectors.jira import JiraConnector
from rampart.connectors.jira.adf import document
from rampart.sdk.connector import ActionError, TargetUnavailable
from rampart.sdk.testing import ConnectorHarness

URL = "https://example.atlassian.net"


def harness(fake: FakeJira, **config: Any) -> ConnectorHarness[JiraConnector]:
    return ConnectorHarness(
        JiraConnector,
        {"url": URL, "email": fake.email, "api_token": fake.api_token, "project": "SOC", **config},
        http=httpx.ASGITransport(app=fake.app()),
    )


def test_the_declaration_matches_the_catalog() -> None:
    harness(FakeJira()).check()


def test_text_becomes_paragraphs_with_hard_breaks_and_no_empty_text() -> None:
    doc = document("Host web-01\r\nisolated\n\n\n\nsee <b>EDR</b>\n")
    assert doc == {
        "type": "doc",
        "version": 1,
        "content": [
            {
                "type": "paragraph",
                "content": [
                    {"type": "text", "text": "Host web-01"},
                    {"type": "hardBreak"},
                    {"type": "text", "text": "isolated"},
                ],
            },
            {"type": "paragraph", "content": [{"type": "text", "text": "see <b>EDR</b>"}]},
        ],
    }


async def test_create_then_comment_and_transition_an_issue() -> None:
    fake = FakeJira()
    h = harness(fake)
    created = await h.run(
        "create ticket",
        title="Malware on\nweb-01",
        description="EDR alert\n\nhash e3b0…",
        priority="critical",
        fields={"labels": ["rampart"]},
    )
    assert created.model_dump() == {
        "key": "SOC-1",
        "id": "10001",
        "status": "To Do",
        "link": f"{URL}/browse/SOC-1",
        "changed_fields": ["description", "issuetype", "labels", "priority", "project", "summary"],
    }
    fields = fake.issues["SOC-1"]["fields"]
    assert (fields["summary"], fields["priority"], fields["labels"]) == (
        "Malware on web-01",
        {"name": "Highest"},
        ["rampart"],
    )
    assert adf_text(fields["description"]) == "EDR alert\n\nhash e3b0…"
    assert "SOC-1" in h.render("create ticket", created)

    updated = await h.run(
        "update ticket", ticket="SOC-1", comment="host isolated", status="in progress"
    )
    assert updated.model_dump()["status"] == "In Progress"
    assert updated.model_dump()["changed_fields"] == ["comment", "status"]
    assert fake.issues["SOC-1"]["comments"] == ["host isolated"]
    assert fake.requests[-4:] == [
        "GET /rest/api/3/issue/SOC-1/transitions",
        "PUT /rest/api/3/issue/SOC-1",
        "POST /rest/api/3/issue/SOC-1/transitions",
        "GET /rest/api/3/issue/SOC-1",
    ]
    done = await h.run("update ticket", ticket="10001", status="Done")
    assert done.model_dump()["status"] == "Done"


async def test_a_status_the_workflow_does_not_offer_changes_nothing() -> None:
    fake = FakeJira()
    h = harness(fake)
    await h.run("create ticket", title="x")
    with pytest.raises(
        ActionError, match="no transition to 'Parked' from here; it offers: In Progress"
    ):
        await h.run("update ticket", ticket="SOC-1", comment="never written", status="Parked")
    assert fake.issues["SOC-1"]["comments"] == []
    assert not any(r.startswith("PUT") for r in fake.requests)


async def test_jiras_field_errors_and_unknown_issues_are_action_errors() -> None:
    fake = FakeJira()
    with pytest.raises(ActionError, match=r"400: .*valid project is required"):
        await harness(fake, project="OPS").run("create ticket", title="x")
    with pytest.raises(ActionError, match=r"400: .*Priority"):
        await harness(fake, priorities={"medium": "Normal"}).run("create ticket", title="x")
    no_priority = await harness(fake, priorities=None).run("create ticket", title="x")
    assert "priority" not in no_priority.model_dump()["changed_fields"]
    with pytest.raises(ActionError, match="404: Issue does not exist"):
        await harness(fake).run("update ticket", ticket="SOC-99", comment="x")


async def test_a_wrong_token_is_jiras_401_without_the_token() -> None:
    wrong = "ATATT3xFfGF0-not-the-token-999"
    with pytest.raises(ActionError, match="401: You are not authenticated") as caught:
        await harness(FakeJira(), api_token=wrong).run("create ticket", title="x")
    assert wrong not in str(caught.value)


async def test_429_waits_retry_after_or_until_the_rate_limit_resets() -> None:
    fake = FakeJira()
    fake.faults.add("/rest/api/3/issue", 429, headers={"Retry-After": "13"}, body={})
    with pytest.raises(TargetUnavailable) as caught:
        await harness(fake).run("create ticket", title="x")
    assert caught.value.retry_after == 13.0
    reset = datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=2)
    fake.faults.add(
        "/rest/api/3/issue",
        429,
        headers={"X-RateLimit-Reset": reset.strftime("%Y-%m-%dT%H:%MZ")},
        body={},
    )
    with pytest.raises(TargetUnavailable) as caught:
        await harness(fake).run("create ticket", title="x")
    assert caught.value.retry_after is not None
    assert 55 <= caught.value.retry_after <= 120
    assert fake.issues == {}


async def test_test_connectivity_reads_the_account_and_the_project() -> None:
    fake = FakeJira()
    account = await harness(fake).run("test connectivity")
    assert account.model_dump() == {
        "account_id": "5b10ac8d82e05b22cc7d4ef5",
        "display_name": "SOC automation",
        "project": "SOC",
        "project_name": "Security Operations",
    }
    with pytest.raises(ActionError, match="404: No project could be found with key 'OPS'"):
        await harness(fake, project="OPS").run("test connectivity")
