"""The entra connector against a fake identity platform and Graph that follow Microsoft's docs.

Documents the fake follows (cited in full in ``fakes/entra.py``): "Microsoft identity platform
and the OAuth 2.0 client credentials flow",
https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow;
"Update user", https://learn.microsoft.com/graph/api/user-update; "Microsoft Graph error
responses and resource types", https://learn.microsoft.com/graph/errors.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from connectors.tests.fakes.entra import FakeEntra
from rampart.connectors.entra import EntraConnector
from rampart.sdk.connector import ActionError, TargetUnavailable
from rampart.sdk.testing import ConnectorHarness


def harness(entra: FakeEntra, **config: Any) -> ConnectorHarness[EntraConnector]:
    return ConnectorHarness(
        EntraConnector,
        {
            "tenant_id": entra.tenant,
            "client_id": entra.client_id,
            "client_secret": entra.client_secret,
            **config,
        },
        http=httpx.ASGITransport(app=entra.app()),
    )


def test_the_declaration_matches_the_catalog() -> None:
    harness(FakeEntra()).check()


async def test_disable_turns_the_account_off_and_revokes_sessions() -> None:
    entra = FakeEntra()
    user_id = entra.add_user("ann@contoso.com")
    h = harness(entra)
    result = await h.run("disable user", user="ann@contoso.com")
    assert result.model_dump() == {
        "user": "ann@contoso.com",
        "id": user_id,
        "user_principal_name": "ann@contoso.com",
        "account_enabled": False,
        "changed": True,
        "sessions_revoked": True,
    }
    assert entra.users[user_id]["accountEnabled"] is False
    assert entra.revoked == [user_id]
    assert f"PATCH /v1.0/users/{user_id}" in entra.requests
    assert "disabled" in h.render("disable user", result)
    enabled = await h.run("enable user", user="ann@contoso.com")
    assert enabled.model_dump()["account_enabled"] is True
    assert enabled.model_dump()["changed"]
    assert entra.users[user_id]["accountEnabled"] is True


async def test_enabling_an_enabled_account_changes_nothing() -> None:
    entra = FakeEntra()
    entra.add_user("ann@contoso.com")
    result = await harness(entra).run("enable user", user="ann@contoso.com")
    assert result.model_dump()["changed"] is False
    assert not any(r.startswith("PATCH") for r in entra.requests)


async def test_a_wrong_client_secret_is_the_platforms_message_without_the_secret() -> None:
    entra = FakeEntra()
    entra.add_user("ann@contoso.com")
    wrong = "not-the-client-secret"
    with pytest.raises(ActionError) as caught:
        await harness(entra, client_secret=wrong).run("disable user", user="ann@contoso.com")
    assert "AADSTS7000215: Invalid client secret provided" in str(caught.value)
    assert wrong not in str(caught.value)
    assert entra.client_secret not in str(caught.value)


async def test_an_unknown_user_is_graphs_not_found() -> None:
    with pytest.raises(ActionError, match=r"404: Resource 'bob@contoso\.com' does not exist"):
        await harness(FakeEntra()).run("disable user", user="bob@contoso.com")


async def test_429_is_transient_with_graphs_retry_after() -> None:
    entra = FakeEntra(throttle=1)
    entra.add_user("ann@contoso.com")
    with pytest.raises(TargetUnavailable) as caught:
        await harness(entra).run("disable user", user="ann@contoso.com")
    assert caught.value.retry_after == 17.0
    assert "Too many requests" in str(caught.value)


async def test_connectivity_signs_in_and_reads_users() -> None:
    entra = FakeEntra()
    entra.add_user("ann@contoso.com")
    result = await harness(entra).run("test connectivity")
    assert result.model_dump() == {"tenant_id": entra.tenant, "users_readable": True}
