"""The ``ldap`` connector: accounts in OpenLDAP (password policy) or Active Directory."""

from __future__ import annotations

import asyncio

from rampart.connectors.ldap import directory as ops
from rampart.connectors.ldap.config import LdapConfig
from rampart.connectors.ldap.models import AccountState, Connectivity, UserRecord
from rampart.sdk.connector import (
    ActionContext,
    ActionError,
    Connector,
    NoParams,
    UserParams,
    action,
)

ACCOUNT = """<p class="rampart-account"><strong>{{ result.user }}</strong>
(<code>{{ result.dn }}</code>) is {% if result.enabled %}enabled{% else %}disabled{% endif %}
{% if result.changed is defined %}{% if result.changed %}(changed by this action)
{% else %}(already so){% endif %}{% endif %}</p>
{% if result.attributes is defined %}<table class="rampart-attributes"><tbody>
{% for name, values in result.attributes.items() %}<tr><th>{{ name }}</th>
<td>{{ values | join(", ") }}</td></tr>{% endfor %}</tbody></table>{% endif %}"""


class LdapConnector(Connector[LdapConfig]):
    """Disables, enables and looks up accounts in an LDAP directory."""

    name = "ldap"
    vendor = "OpenLDAP / Microsoft"
    product = "LDAP directory"
    description = (
        "Disables and enables accounts (OpenLDAP password-policy lock, or Active Directory's "
        "ACCOUNTDISABLE flag of userAccountControl) and looks them up, over LDAP or LDAPS."
    )
    config_model = LdapConfig

    async def _change(self, ctx: ActionContext, user: str, *, disable: bool) -> AccountState:
        config = self.config

        def work(directory: ops.Directory) -> tuple[ops.Account, bool]:
            if config.mechanism == "active-directory":
                return ops.set_ad_disabled(directory, user, disabled=disable)
            return ops.set_ppolicy_lock(directory, user, locked=disable)

        account, changed = await asyncio.to_thread(ops.with_directory, config, work)
        if changed:
            ctx.log.info(
                "account %s", "disabled" if disable else "enabled", extra={"dn": account.dn}
            )
        return AccountState(
            user=user,
            dn=account.dn,
            enabled=not disable,
            changed=changed,
            mechanism=config.mechanism,
        )

    @action("disable user", widget=ACCOUNT)
    async def disable_user(self, ctx: ActionContext, params: UserParams) -> AccountState:
        """Disable the account: it can no longer log in, and nothing else about it changes."""
        return await self._change(ctx, params.user, disable=True)

    @action("enable user", widget=ACCOUNT)
    async def enable_user(self, ctx: ActionContext, params: UserParams) -> AccountState:
        """Enable a disabled account again."""
        return await self._change(ctx, params.user, disable=False)

    @action("lookup user", widget=ACCOUNT)
    async def lookup_user(self, ctx: ActionContext, params: UserParams) -> UserRecord:
        """The account's DN, whether it is enabled, and the configured attributes."""
        config = self.config
        wanted = [*config.lookup_attributes, config.name_attribute]
        wanted.append(
            ops.UAC_ATTRIBUTE if config.mechanism == "active-directory" else ops.LOCKED_ATTRIBUTE
        )

        def work(directory: ops.Directory) -> ops.Account:
            return directory.find(params.user, wanted)

        account = await asyncio.to_thread(ops.with_directory, config, work)
        shown = {
            name: account.attributes[name.lower()]
            for name in dict.fromkeys([config.name_attribute, *config.lookup_attributes])
            if name.lower() in account.attributes
        }
        if config.mechanism == "active-directory":
            flags = ops.user_account_control(account)
            return UserRecord(
                user=params.user,
                dn=account.dn,
                enabled=not flags & ops.ACCOUNTDISABLE,
                mechanism=config.mechanism,
                user_account_control=flags,
                attributes=shown,
            )
        locked = account.first(ops.LOCKED_ATTRIBUTE)
        return UserRecord(
            user=params.user,
            dn=account.dn,
            enabled=locked is None,
            mechanism=config.mechanism,
            locked_since=locked,
            attributes=shown,
        )

    @action("test connectivity")
    async def test_connectivity(self, ctx: ActionContext, params: NoParams) -> Connectivity:
        """Bind as the service account and read the base DN."""
        config = self.config

        def work(directory: ops.Directory) -> Connectivity:
            found = directory.connection.search(
                config.base_dn, "(objectClass=*)", "BASE", attributes=["1.1"]
            )
            who = directory.connection.extend.standard.who_am_i() or config.bind_dn
            return Connectivity(url=config.url, bound_as=str(who), base_dn_found=bool(found))

        result = await asyncio.to_thread(ops.with_directory, config, work)
        if not result.base_dn_found:
            raise ActionError(f"{config.url}: the base DN {config.base_dn!r} is not there")
        return result
