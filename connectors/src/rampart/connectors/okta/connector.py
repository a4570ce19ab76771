"""The ``okta`` connector: the Okta management API with an SSWS API token.

``disable user`` suspends the account (``POST /api/v1/users/{id}/lifecycle/suspend``) and
``enable user`` unsuspends it: a suspended user cannot sign in but keeps its groups, app
assignments and factors, so the undo restores exactly what was there. (Deactivation would
deprovision app assignments and reactivation sends a new activation mail: not an undo.)
``add to list`` / ``remove from list`` put a user in or out of an Okta group found by its
exact name. Lists are read through the ``Link: rel="next"`` pages Okta answers with; a 429
is retried after ``X-Rate-Limit-Reset``.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import BaseModel, Field, SecretStr

from rampart.sdk.connector import (
    ActionContext,
    ActionError,
    AssetConfig,
    Connector,
    HttpsUrl,
    ListEntryParams,
    NoParams,
    ProductClient,
    TlsOptions,
    UserParams,
    action,
    follow_links,
    product_client,
    retry_after_seconds,
)

USER_WIDGET = """<p class="rampart-okta-user">Okta user <strong>{{ result.user }}</strong>
is <strong>{{ result.status }}</strong>{% if not result.changed %} (unchanged){% endif %}</p>"""

GROUP_WIDGET = """<p class="rampart-okta-group"><strong>{{ result.value }}</strong>
{% if result.member %}is in{% else %}is not in{% endif %} the Okta group
<strong>{{ result.list }}</strong></p>"""


class OktaConfig(AssetConfig):
    """An Okta org and an API token of an administrator who may manage users and groups."""

    url: HttpsUrl = Field(description="the org's URL, e.g. https://example.okta.com")
    api_token: SecretStr = Field(description="an Okta API token (sent as SSWS)")
    tls: TlsOptions = TlsOptions()
    request_timeout_s: float = Field(default=30.0, gt=0, le=300)


class OktaUser(BaseModel):
    """A user's lifecycle status after the action, and whether the action changed it."""

    user: str
    id: str
    status: str
    changed: bool


class OktaMembership(BaseModel):
    """Whether a user is in a group after the action."""

    list: str
    value: str
    group_id: str
    user_id: str
    member: bool


class OktaOrg(BaseModel):
    """Who the API token acts as."""

    url: str
    login: str
    status: str


def rate_limit_reset(response: httpx.Response) -> float | None:
    """Seconds until ``X-Rate-Limit-Reset`` (UTC epoch seconds), else ``Retry-After``."""
    reset = response.headers.get("x-rate-limit-reset", "")
    if reset.isdigit():
        return max(0.0, int(reset) - time.time())
    return retry_after_seconds(response.headers.get("retry-after"))


class OktaConnector(Connector[OktaConfig]):
    """Suspends and unsuspends Okta users and manages their group membership."""

    name = "okta"
    vendor = "Okta"
    product = "Okta Workforce Identity"
    description = (
        "Suspends and unsuspends users (disable user / enable user) and adds or removes a "
        "user in a named group (add to list / remove from list) through Okta's management API."
    )
    config_model = OktaConfig

    def _api(self, ctx: ActionContext) -> contextlib.AbstractAsyncContextManager[ProductClient]:
        token = self.config.api_token.get_secret_value()
        return product_client(
            ctx,
            self.config.url,
            tls=self.config.tls,
            headers={"Authorization": f"SSWS {token}", "Accept": "application/json"},
            request_timeout_s=self.config.request_timeout_s,
            secrets=[token],
            retry_after=rate_limit_reset,
        )

    @staticmethod
    async def _user(api: ProductClient, user: str) -> dict[str, Any]:
        found = await api.get_json(f"/api/v1/users/{quote(user, safe='@')}")
        if not isinstance(found, dict) or "id" not in found:
            raise ActionError(f"Okta answered no user for {user!r}")
        return found

    async def _lifecycle(
        self, ctx: ActionContext, user: str, *, want: str, from_status: str, operation: str
    ) -> OktaUser:
        async with self._api(ctx) as api:
            found = await self._user(api, user)
            status = str(found.get("status", ""))
            if status == want:
                return OktaUser(user=user, id=found["id"], status=status, changed=False)
            if status != from_status:
                raise ActionError(
                    f"Okta user {user!r} is {status}; only a {from_status} user can be {operation}"
                )
            await api.post(f"/api/v1/users/{found['id']}/lifecycle/{operation}")
            after = await self._user(api, found["id"])
        ctx.log.info("okta user lifecycle", extra={"operation": operation, "id": found["id"]})
        return OktaUser(user=user, id=found["id"], status=str(after.get("status")), changed=True)

    @action("disable user", widget=USER_WIDGET)
    async def disable_user(self, ctx: ActionContext, params: UserParams) -> OktaUser:
        """Suspend an active user (its sessions end; groups and apps are kept)."""
        return await self._lifecycle(
            ctx, params.user, want="SUSPENDED", from_status="ACTIVE", operation="suspend"
        )

    @action("enable user", widget=USER_WIDGET)
    async def enable_user(self, ctx: ActionContext, params: UserParams) -> OktaUser:
        """Unsuspend a suspended user."""
        return await self._lifecycle(
            ctx, params.user, want="ACTIVE", from_status="SUSPENDED", operation="unsuspend"
        )

    async def _membership(
        self, ctx: ActionContext, params: ListEntryParams, *, member: bool
    ) -> OktaMembership:
        async with self._api(ctx) as api:
            groups = await follow_links(
                api, "/api/v1/groups", params={"q": params.list, "limit": 200}, limit=10_000
            )
            exact = [g for g in groups.items if g.get("profile", {}).get("name") == params.list]
            if len(exact) != 1:
                raise ActionError(
                    f"Okta has {len(exact)} groups named {params.list!r}; expected exactly one"
                )
            group_id = str(exact[0]["id"])
            user = await self._user(api, params.value)
            path = f"/api/v1/groups/{group_id}/users/{user['id']}"
            await api.request("PUT" if member else "DELETE", path)
        return OktaMembership(
            list=params.list,
            value=params.value,
            group_id=group_id,
            user_id=str(user["id"]),
            member=member,
        )

    @action("add to list", widget=GROUP_WIDGET)
    async def add_to_list(self, ctx: ActionContext, params: ListEntryParams) -> OktaMembership:
        """Add the user (``value``, a login or id) to the group named ``list``."""
        return await self._membership(ctx, params, member=True)

    @action("remove from list", widget=GROUP_WIDGET)
    async def remove_from_list(self, ctx: ActionContext, params: ListEntryParams) -> OktaMembership:
        """Remove the user (``value``, a login or id) from the group named ``list``."""
        return await self._membership(ctx, params, member=False)

    @action("test connectivity")
    async def test_connectivity(self, ctx: ActionContext, params: NoParams) -> OktaOrg:
        """Read the token's own user: the org answers and the token is valid."""
        async with self._api(ctx) as api:
            me = await api.get_json("/api/v1/users/me")
        profile = me.get("profile", {}) if isinstance(me, dict) else {}
        return OktaOrg(
            url=self.config.url,
            login=str(profile.get("login", "")),
            status=str(me.get("status", "")) if isinstance(me, dict) else "",
        )
