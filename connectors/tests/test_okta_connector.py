"""The okta connector against a fake Okta org that follows Okta's published API reference.

Documents the fake follows (cited in full in ``fakes/okta.py``): "User Lifecycle",
https://developer.okta.com/docs/api/openapi/okta-management/management/tag/UserLifecycle;
"Okta error codes and descriptions", https://developer.okta.com/docs/reference/error-codes/;
"Rate limit best practices", https://developer.okta.com/docs/reference/rl-best-practices/.
"""

from __future__ import annotations

import httpx
import pytest

from connectors.tests.fakes.okta import FakeOkta
from rampart.connectors.okta import OktaConnector
from rampart.sdk.connector import ActionError, TargetUnavailable
from rampart.sdk.testing import ConnectorHarness

URL = "https://example.okta.com"


def harness(okta: FakeOkta, token: str | None = None) -> ConnectorHarness[OktaConnector]:
    return ConnectorHarness(
        OktaConnector,
        {"url": URL, "api_token": token or okta.token},
        http=httpx.ASGITransport(app=okta.app()),
    )


def test_the_declaration_matches_the_catalog() -> None:
    harness(FakeOkta()).check()


async def test_disable_suspends_and_enable_unsuspends() -> None:
    okta = FakeOkta()
    user_id = okta.add_user("ann@example.com")
    h = harness(okta)
    disabled = await h.run("disable user", user="ann@example.com")
    assert disabled.model_dump() == {
        "user": "ann@example.com",
        "id": user_id,
        "status": "SUSPENDED",
        "changed": True,
    }
    assert okta.users[user_id]["status"] == "SUSPENDED"
    assert f"POST /api/v1/users/{user_id}/lifecycle/suspend" in okta.requests
    again = await h.run("disable user", user="ann@example.com")
    assert again.model_dump()["changed"] is False
    enabled = await h.run("enable user", user="ann@example.com")
    assert enabled.model_dump()["status"] == "ACTIVE"
    assert okta.users[user_id]["status"] == "ACTIVE"
    assert "SUSPENDED" in h.render("disable user", disabled)


async def test_a_deprovisioned_user_cannot_be_suspended() -> None:
    okta = FakeOkta()
    okta.add_user("gone@example.com", status="DEPROVISIONED")
    with pytest.raises(ActionError, match="DEPROVISIONED"):
        await harness(okta).run("disable user", user="gone@example.com")


async def test_an_unknown_user_is_oktas_not_found() -> None:
    okta = FakeOkta()
    with pytest.raises(ActionError, match=r"404: Not found: Resource not found: nobody@x"):
        await harness(okta).run("disable user", user="nobody@x")


async def test_a_wrong_token_is_oktas_message_without_the_token() -> None:
    okta = FakeOkta()
    okta.add_user("ann@example.com")
    wrong = "00wrong-token-value-xyz"
    with pytest.raises(ActionError) as caught:
        await harness(okta, token=wrong).run("test connectivity")
    assert "401: Invalid token provided" in str(caught.value)
    assert wrong not in str(caught.value)
    assert okta.token not in str(caught.value)


async def test_429_is_transient_until_the_rate_limit_resets() -> None:
    okta = FakeOkta(throttle=1, reset_in_s=42)
    okta.add_user("ann@example.com")
    with pytest.raises(TargetUnavailable) as caught:
        await harness(okta).run("disable user", user="ann@example.com")
    assert caught.value.retry_after is not None
    assert 38 <= caught.value.retry_after <= 42
    assert "API call exceeded rate limit" in str(caught.value)


async def test_group_membership_follows_every_page_of_groups() -> None:
    okta = FakeOkta(page_size=2)
    user_id = okta.add_user("ann@example.com")
    for n in range(5):
        okta.add_group(f"blocked-{n}")
    target = okta.add_group("blocked")
    h = harness(okta)
    added = await h.run("add to list", list="blocked", value="ann@example.com")
    assert added.model_dump() == {
        "list": "blocked",
        "value": "ann@example.com",
        "group_id": target,
        "user_id": user_id,
        "member": True,
    }
    assert okta.members[target] == {user_id}
    assert sum(r == "GET /api/v1/groups" for r in okta.requests) == 3  # 6 groups, 2 a page
    await h.run("remove from list", list="blocked", value="ann@example.com")
    assert okta.members[target] == set()


async def test_a_group_name_must_match_exactly_one_group() -> None:
    okta = FakeOkta()
    okta.add_user("ann@example.com")
    okta.add_group("blocked-users")
    with pytest.raises(ActionError, match="0 groups named 'blocked'"):
        await harness(okta).run("add to list", list="blocked", value="ann@example.com")


async def test_connectivity_names_the_tokens_user() -> None:
    okta = FakeOkta()
    okta.add_user("admin@example.com")
    result = await harness(okta).run("test connectivity")
    assert result.model_dump() == {"url": URL, "login": "admin@example.com", "status": "ACTIVE"}
