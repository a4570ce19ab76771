"""The ``entra`` connector: Microsoft Entra ID users disabled and enabled through Graph.

An app registration with the ``User.ReadWrite.All`` application permission signs in with the
OAuth 2.0 client credentials grant (``https://graph.microsoft.com/.default``).
``disable user`` sets ``accountEnabled`` to false (``PATCH /v1.0/users/{id}``) and, unless the
asset says not to, revokes the user's refresh tokens and session cookies
(``POST /v1.0/users/{id}/revokeSignInSessions``) so the account is out at once;
``enable user`` sets ``accountEnabled`` back to true.
"""

from __future__ import annotations

import contextlib
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel, Field, SecretStr

from rampart.sdk.connector import (
    ActionContext,
    ActionError,
    AssetConfig,
    ClientCredentials,
    Connector,
    HttpsUrl,
    NoParams,
    ProductClient,
    TlsOptions,
    UserParams,
    action,
    product_client,
)

USER_WIDGET = """<p class="rampart-entra-user">Entra ID account
<strong>{{ result.user_principal_name }}</strong> is
<strong>{% if result.account_enabled %}enabled{% else %}disabled{% endif %}</strong>
{% if not result.changed %}(unchanged){% endif %}
{% if result.sessions_revoked %}; its sign-in sessions were revoked{% endif %}</p>"""


class EntraConfig(AssetConfig):
    """A tenant and the app registration Rampart signs in as."""

    tenant_id: str = Field(
        min_length=1, max_length=100, pattern=r"^[A-Za-z0-9.-]+$", description="tenant id or domain"
    )
    client_id: str = Field(min_length=1, max_length=100, description="the app's client id")
    client_secret: SecretStr = Field(description="a client secret of the app registration")
    graph_url: HttpsUrl = "https://graph.microsoft.com"
    login_url: HttpsUrl = Field(
        default="https://login.microsoftonline.com", description="the identity platform"
    )
    revoke_sessions: bool = Field(
        default=True, description="revoke sign-in sessions when disabling a user"
    )
    tls: TlsOptions = TlsOptions()
    request_timeout_s: float = Field(default=30.0, gt=0, le=300)


class EntraUser(BaseModel):
    """An account after the action."""

    user: str
    id: str
    user_principal_name: str
    account_enabled: bool
    changed: bool
    sessions_revoked: bool = False


class EntraTenant(BaseModel):
    """The app signed in and can read users."""

    tenant_id: str
    users_readable: bool


class EntraConnector(Connector[EntraConfig]):
    """Disables and enables Microsoft Entra ID accounts through Microsoft Graph."""

    name = "entra"
    vendor = "Microsoft"
    product = "Entra ID"
    description = (
        "Disables (accountEnabled false, sessions revoked) and enables Entra ID accounts "
        "through Microsoft Graph, signed in with OAuth 2.0 client credentials."
    )
    config_model = EntraConfig

    def _api(self, ctx: ActionContext) -> contextlib.AbstractAsyncContextManager[ProductClient]:
        config = self.config
        auth = ClientCredentials(
            f"{config.login_url.rstrip('/')}/{config.tenant_id}/oauth2/v2.0/token",
            config.client_id,
            config.client_secret,
            f"{config.graph_url.rstrip('/')}/.default",
        )
        return product_client(
            ctx,
            config.graph_url,
            tls=config.tls,
            auth=auth,
            headers={"Accept": "application/json"},
            request_timeout_s=config.request_timeout_s,
            secrets=[config.client_secret],
        )

    @staticmethod
    async def _read(api: ProductClient, user: str) -> dict[str, Any]:
        found = await api.get_json(
            f"/v1.0/users/{quote(user, safe='@')}",
            params={"$select": "id,userPrincipalName,accountEnabled"},
        )
        if not isinstance(found, dict) or "id" not in found:
            raise ActionError(f"Graph answered no user for {user!r}")
        return found

    async def _set(self, ctx: ActionContext, user: str, *, enabled: bool) -> EntraUser:
        async with self._api(ctx) as api:
            found = await self._read(api, user)
            changed = found.get("accountEnabled") is not enabled
            if changed:
                await api.request(
                    "PATCH", f"/v1.0/users/{found['id']}", json={"accountEnabled": enabled}
                )
            revoked = False
            if not enabled and self.config.revoke_sessions:
                await api.post(f"/v1.0/users/{found['id']}/revokeSignInSessions")
                revoked = True
            after = await self._read(api, found["id"])
        ctx.log.info("entra account", extra={"id": found["id"], "enabled": enabled})
        return EntraUser(
            user=user,
            id=str(found["id"]),
            user_principal_name=str(after.get("userPrincipalName", "")),
            account_enabled=bool(after.get("accountEnabled")),
            changed=changed,
            sessions_revoked=revoked,
        )

    @action("disable user", widget=USER_WIDGET)
    async def disable_user(self, ctx: ActionContext, params: UserParams) -> EntraUser:
        """Block sign-in (accountEnabled false) and revoke the user's sessions."""
        return await self._set(ctx, params.user, enabled=False)

    @action("enable user", widget=USER_WIDGET)
    async def enable_user(self, ctx: ActionContext, params: UserParams) -> EntraUser:
        """Allow sign-in again (accountEnabled true)."""
        return await self._set(ctx, params.user, enabled=True)

    @action("test connectivity")
    async def test_connectivity(self, ctx: ActionContext, params: NoParams) -> EntraTenant:
        """Sign in and read one user: the credentials and the permission work."""
        async with self._api(ctx) as api:
            body = await api.get_json("/v1.0/users", params={"$top": "1", "$select": "id"})
        return EntraTenant(
            tenant_id=self.config.tenant_id,
            users_readable=isinstance(body, dict) and isinstance(body.get("value"), list),
        )
