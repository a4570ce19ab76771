"""The ``fortigate`` connector: block addresses and domains with firewall address objects in
a group.

An address becomes ``firewall/address`` (IPv4) or ``firewall/address6`` (IPv6) object
``rampart-<address>``, a member of the address group ``addrgrp`` / ``addrgrp6`` that the
FortiGate's deny policy references. A domain becomes an FQDN address object
``rampart-fqdn-<domain>`` (``type: fqdn``) in the IPv4 group: the FortiGate resolves it and
its deny policy drops traffic to and from whatever addresses the domain has, whatever the
protocol. FortiOS answers a duplicate ``POST`` with an error rather than success, so the
connector reads before it writes: blocking twice, or unblocking what is not blocked, changes
nothing and succeeds.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel, Field, SecretStr

from rampart.sdk.connector import (
    ActionContext,
    ActionError,
    AssetConfig,
    Connector,
    DomainParams,
    IpParams,
    NoParams,
    ProductClient,
    TlsOptions,
    action,
    product_client,
)

WIDGET = """<p class="rampart-fortigate">{{ result.ip }}:
{% if result.changed %}{{ result.action }}{% else %}already so{% endif %}
(<code>{{ result.address }}</code> in {{ result.group }}, vdom {{ result.vdom }})</p>"""


class FortigateConfig(AssetConfig):
    """A FortiGate's REST API, a REST API administrator's token, and the blocking group."""

    url: str = Field(pattern=r"^https://", max_length=2048, description="https://fortigate")
    api_token: SecretStr = Field(description="the REST API administrator's token")
    vdom: str = Field(default="root", pattern=r"^[A-Za-z0-9_-]{1,31}$")
    address_group: str = Field(default="rampart-blocked", pattern=r"^[A-Za-z0-9._ -]{1,79}$")
    address_group6: str = Field(default="rampart-blocked6", pattern=r"^[A-Za-z0-9._ -]{1,79}$")
    request_timeout_s: float = Field(default=30.0, gt=0, le=300)
    tls: TlsOptions = TlsOptions()


class AddressChange(BaseModel):
    """What blocking or unblocking one address changed."""

    action: str
    ip: str
    address: str
    group: str
    vdom: str
    changed: bool


class DomainChange(BaseModel):
    """What blocking or unblocking one domain changed."""

    action: str
    domain: str
    address: str
    group: str
    vdom: str
    changed: bool


DOMAIN_WIDGET = """<p class="rampart-fortigate">{{ result.domain }}:
{% if result.changed %}{{ result.action }}{% else %}already so{% endif %}
(FQDN <code>{{ result.address }}</code> in {{ result.group }}, vdom {{ result.vdom }})</p>"""


class Status(BaseModel):
    """The FortiGate's own account of itself."""

    hostname: str | None
    model: str | None
    serial: str | None
    version: str | None


def address_name(ip: str) -> str:
    """The address object of an address or network: ``rampart-10.0.0.0-24``."""
    return "rampart-" + re.sub(r"[^A-Za-z0-9.]", "-", ip)


_NAME_LIMIT = 79  # FortiOS: an address object's name has at most 79 characters


def fqdn_name(domain: str) -> str:
    """The address object of a domain, within FortiOS's name length: ``rampart-fqdn-<domain>``."""
    name = f"rampart-fqdn-{domain}"
    if len(name) <= _NAME_LIMIT:
        return name
    digest = hashlib.sha256(domain.encode()).hexdigest()[:12]
    return f"{name[: _NAME_LIMIT - 13]}-{digest}"


class FortigateConnector(Connector[FortigateConfig]):
    """Address blocking on a FortiGate through the FortiOS REST API (cmdb)."""

    name = "fortigate"
    vendor = "Fortinet"
    product = "FortiGate"
    description = (
        "Blocks addresses and domains on a FortiGate: firewall address objects (FQDN ones for "
        "domains) in an address group that a deny policy references, through the FortiOS REST "
        "API with an API token."
    )
    config_model = FortigateConfig

    def _client(self, ctx: ActionContext) -> Any:
        token = self.config.api_token
        return product_client(
            ctx,
            self.config.url,
            tls=self.config.tls,
            headers={"Authorization": f"Bearer {token.get_secret_value()}"},
            request_timeout_s=self.config.request_timeout_s,
            secrets=[token],
        )

    def _kinds(self, ip: str) -> tuple[str, str, str]:
        if ipaddress.ip_network(ip).version == 6:
            return "address6", "addrgrp6", self.config.address_group6
        return "address", "addrgrp", self.config.address_group

    async def _get(self, api: ProductClient, path: str) -> dict[str, Any] | None:
        """One cmdb object, or None if FortiOS answers 404."""
        try:
            body = await api.get_json(path, params={"vdom": self.config.vdom})
        except ActionError as exc:
            if " answered 404" in str(exc):
                return None
            raise
        results = body.get("results") if isinstance(body, dict) else None
        if not isinstance(results, list) or not results:
            return None
        first = results[0]
        return first if isinstance(first, dict) else None

    async def _add(
        self, ctx: ActionContext, kind: str, group_kind: str, group: str, obj: dict[str, Any]
    ) -> bool:
        """Create the address object if needed and make it a member of the group."""
        name, vdom = obj["name"], {"vdom": self.config.vdom}
        changed = False
        async with self._client(ctx) as api:
            path = f"/api/v2/cmdb/firewall/{kind}"
            if await self._get(api, f"{path}/{quote(name, safe='')}") is None:
                await api.json("POST", path, params=vdom, json=obj)
                changed = True
            group_path = f"/api/v2/cmdb/firewall/{group_kind}"
            existing = await self._get(api, f"{group_path}/{quote(group, safe='')}")
            if existing is None:
                await api.json(
                    "POST",
                    group_path,
                    params=vdom,
                    json={"name": group, "member": [{"name": name}]},
                )
                changed = True
            else:
                members = [m["name"] for m in existing.get("member", []) if "name" in m]
                if name not in members:
                    await api.json(
                        "PUT",
                        f"{group_path}/{quote(group, safe='')}",
                        params=vdom,
                        json={"member": [{"name": m} for m in [*members, name]]},
                    )
                    changed = True
        return changed

    async def _remove(
        self, ctx: ActionContext, kind: str, group_kind: str, group: str, name: str
    ) -> bool:
        """Take the address object out of the group, then delete it."""
        vdom = {"vdom": self.config.vdom}
        changed = False
        async with self._client(ctx) as api:
            group_path = f"/api/v2/cmdb/firewall/{group_kind}/{quote(group, safe='')}"
            existing = await self._get(api, group_path)
            members = [m["name"] for m in (existing or {}).get("member", []) if "name" in m]
            if name in members:
                await api.json(
                    "PUT",
                    group_path,
                    params=vdom,
                    json={"member": [{"name": m} for m in members if m != name]},
                )
                changed = True
            path = f"/api/v2/cmdb/firewall/{kind}/{quote(name, safe='')}"
            if await self._get(api, path) is not None:
                await api.json("DELETE", path, params=vdom)
                changed = True
        return changed

    @action("block ip", widget=WIDGET)
    async def block_ip(self, ctx: ActionContext, params: IpParams) -> AddressChange:
        """Create the address object if needed and add it to the blocking group."""
        kind, group_kind, group = self._kinds(params.ip)
        name = address_name(params.ip)
        network = ipaddress.ip_network(params.ip)
        obj: dict[str, Any] = {"name": name, "comment": "blocked by Rampart"}
        if network.version == 6:
            obj["ip6"] = network.with_prefixlen
        else:
            obj["subnet"] = f"{network.network_address} {network.netmask}"
        changed = await self._add(ctx, kind, group_kind, group, obj)
        return AddressChange(
            action="blocked",
            ip=params.ip,
            address=name,
            group=group,
            vdom=self.config.vdom,
            changed=changed,
        )

    @action("unblock ip", widget=WIDGET)
    async def unblock_ip(self, ctx: ActionContext, params: IpParams) -> AddressChange:
        """Take the address object out of the group, then delete it."""
        kind, group_kind, group = self._kinds(params.ip)
        name = address_name(params.ip)
        changed = await self._remove(ctx, kind, group_kind, group, name)
        return AddressChange(
            action="unblocked",
            ip=params.ip,
            address=name,
            group=group,
            vdom=self.config.vdom,
            changed=changed,
        )

    @action("block domain", widget=DOMAIN_WIDGET)
    async def block_domain(self, ctx: ActionContext, params: DomainParams) -> DomainChange:
        """Create the domain's FQDN address object if needed and add it to the IPv4 group."""
        name, group = fqdn_name(params.domain), self.config.address_group
        obj = {"name": name, "type": "fqdn", "fqdn": params.domain, "comment": "blocked by Rampart"}
        changed = await self._add(ctx, "address", "addrgrp", group, obj)
        return DomainChange(
            action="blocked",
            domain=params.domain,
            address=name,
            group=group,
            vdom=self.config.vdom,
            changed=changed,
        )

    @action("unblock domain", widget=DOMAIN_WIDGET)
    async def unblock_domain(self, ctx: ActionContext, params: DomainParams) -> DomainChange:
        """Take the domain's FQDN address object out of the group, then delete it."""
        name, group = fqdn_name(params.domain), self.config.address_group
        changed = await self._remove(ctx, "address", "addrgrp", group, name)
        return DomainChange(
            action="unblocked",
            domain=params.domain,
            address=name,
            group=group,
            vdom=self.config.vdom,
            changed=changed,
        )

    @action("test connectivity")
    async def test_connectivity(self, ctx: ActionContext, params: NoParams) -> Status:
        """Read ``monitor/system/status`` with the token."""
        async with self._client(ctx) as api:
            body = await api.get_json("/api/v2/monitor/system/status")
        results = body.get("results", {}) if isinstance(body, dict) else {}
        return Status(
            hostname=results.get("hostname"),
            model=results.get("model_name") or results.get("model"),
            serial=body.get("serial") if isinstance(body, dict) else None,
            version=body.get("version") if isinstance(body, dict) else None,
        )
