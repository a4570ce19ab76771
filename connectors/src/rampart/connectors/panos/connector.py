"""The ``panos`` connector: block addresses and URLs on a Palo Alto Networks firewall.

Addresses become address objects (``rampart-<address>``) that are members of one address
group, and URLs entries of one custom URL category; the firewall's security rules reference
that group and category (set up once by the firewall's administrators), so blocking never
edits a rule. Every change is committed and the commit job polled until it finishes.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from xml.sax.saxutils import escape

from pydantic import BaseModel, Field, SecretStr, model_validator

from rampart.connectors.panos.xmlapi import NOT_PRESENT, XmlApi, keygen, system_info
from rampart.sdk.connector import (
    ActionContext,
    ActionError,
    AssetConfig,
    Connector,
    IpParams,
    NoParams,
    TlsOptions,
    UrlParams,
    action,
    product_client,
)

_OBJECT_NAME = r"^[A-Za-z0-9][A-Za-z0-9._ -]{0,62}$"
# What a custom URL category entry may hold: a host, a path, wildcards; never a quote.
_URL_ENTRY = re.compile(r"^[A-Za-z0-9*.^-]+(?::\d+)?(?:/[A-Za-z0-9._~!$&()*+,;=:@%/?#-]*)?$")

CHANGE_WIDGET = """<p class="rampart-panos">{{ result.action }} <code>{{ result.value }}</code>
({{ result.entry }} in {{ result.container }}) &mdash; commit
{% if result.job %}job {{ result.job }}: {{ result.commit }}{% else %}{{ result.commit }}{% endif %}
</p>"""


class PanosConfig(AssetConfig):
    """A firewall's XML API, the credentials for it, and the objects blocking goes through."""

    url: str = Field(pattern=r"^https://", max_length=2048, description="https://firewall")
    api_key: SecretStr | None = Field(default=None, description="an XML API key")
    username: str | None = Field(
        default=None, max_length=255, description="an API administrator, for keygen"
    )
    password: SecretStr | None = None
    vsys: str = Field(default="vsys1", pattern=r"^vsys[0-9]{1,3}$")
    address_group: str = Field(default="rampart-blocked", pattern=_OBJECT_NAME)
    url_category: str = Field(default="rampart-blocked-urls", pattern=_OBJECT_NAME)
    commit_timeout_s: float = Field(default=300.0, gt=0, le=3600)
    poll_interval_s: float = Field(default=2.0, gt=0, le=60)
    request_timeout_s: float = Field(default=30.0, gt=0, le=300)
    tls: TlsOptions = TlsOptions()

    @model_validator(mode="after")
    def _credentials(self) -> PanosConfig:
        if self.api_key is None and (self.username is None or self.password is None):
            raise ValueError("give api_key, or username and password for keygen")
        return self


class Change(BaseModel):
    """One blocking change and its commit."""

    action: str
    value: str
    entry: str = Field(description="the address object or URL category entry")
    container: str = Field(description="the address group or custom URL category")
    job: str | None = Field(description="the commit job id; None when nothing changed")
    commit: str = Field(description="OK, or 'no changes'")


class SystemInfo(BaseModel):
    """What ``show system info`` says about the firewall."""

    hostname: str | None
    model: str | None
    serial: str | None
    sw_version: str | None


def object_name(ip: str) -> str:
    """The address object of one address or network: ``rampart-10.0.0.0-24``."""
    return "rampart-" + re.sub(r"[^A-Za-z0-9.]", "-", ip)


def url_entry(url: str) -> str:
    """A URL as a custom URL category lists it: no scheme, the host in lower case."""
    bare = re.sub(r"^[A-Za-z][A-Za-z0-9+.-]*://", "", url.strip())
    host, slash, rest = bare.partition("/")
    entry = host.lower() + slash + rest
    if not _URL_ENTRY.match(entry):
        raise ActionError(
            "the URL cannot be a PAN-OS URL category entry (host[/path], no quotes or spaces)"
        )
    return entry


class PanosConnector(Connector[PanosConfig]):
    """Address and URL blocking on a PAN-OS firewall through its XML API."""

    name = "panos"
    vendor = "Palo Alto Networks"
    product = "PAN-OS"
    description = (
        "Blocks addresses (address objects in an address group) and URLs (a custom URL "
        "category) on a PAN-OS firewall through the XML API, committing each change."
    )
    config_model = PanosConfig

    @asynccontextmanager
    async def _api(self, ctx: ActionContext) -> AsyncIterator[XmlApi]:
        config = self.config
        secrets = [config.api_key, config.password]
        key = config.api_key.get_secret_value() if config.api_key else None
        if key is None:
            assert config.username is not None
            assert config.password is not None
            async with product_client(
                ctx,
                config.url,
                tls=config.tls,
                request_timeout_s=config.request_timeout_s,
                secrets=secrets,
            ) as anonymous:
                key = await keygen(anonymous, config.username, config.password)
        async with product_client(
            ctx,
            config.url,
            tls=config.tls,
            request_timeout_s=config.request_timeout_s,
            headers={"X-PAN-KEY": key},
            secrets=[*secrets, key],
        ) as api:
            yield XmlApi(api)

    def _vsys(self) -> str:
        return (
            "/config/devices/entry[@name='localhost.localdomain']"
            f"/vsys/entry[@name='{self.config.vsys}']"
        )

    async def _commit(self, api: XmlApi) -> tuple[str | None, str]:
        return await api.commit(
            timeout_s=self.config.commit_timeout_s, poll_interval_s=self.config.poll_interval_s
        )

    @action("block ip", widget=CHANGE_WIDGET)
    async def block_ip(self, ctx: ActionContext, params: IpParams) -> Change:
        """Add the address object and make it a member of the blocking address group."""
        name, group = object_name(params.ip), self.config.address_group
        async with self._api(ctx) as api:
            await api.config(
                "set",
                f"{self._vsys()}/address/entry[@name='{name}']",
                f"<ip-netmask>{params.ip}</ip-netmask>"
                "<description>blocked by Rampart</description>",
            )
            await api.config(
                "set",
                f"{self._vsys()}/address-group/entry[@name='{group}']/static",
                f"<member>{name}</member>",
            )
            job, result = await self._commit(api)
        return Change(
            action="block ip", value=params.ip, entry=name, container=group, job=job, commit=result
        )

    @action("unblock ip", widget=CHANGE_WIDGET)
    async def unblock_ip(self, ctx: ActionContext, params: IpParams) -> Change:
        """Take the address object out of the group, then delete it; absent is fine."""
        name, group = object_name(params.ip), self.config.address_group
        async with self._api(ctx) as api:
            await api.config(
                "delete",
                f"{self._vsys()}/address-group/entry[@name='{group}']/static"
                f"/member[text()='{name}']",
            )
            removed = await api.config("delete", f"{self._vsys()}/address/entry[@name='{name}']")
            if removed.code == NOT_PRESENT:
                ctx.log.info("address object was not present", extra={"object": name})
            job, result = await self._commit(api)
        return Change(
            action="unblock ip",
            value=params.ip,
            entry=name,
            container=group,
            job=job,
            commit=result,
        )

    @action("block url", widget=CHANGE_WIDGET)
    async def block_url(self, ctx: ActionContext, params: UrlParams) -> Change:
        """Add the URL to the custom URL category that the blocking rule references."""
        entry, category = url_entry(params.url), self.config.url_category
        async with self._api(ctx) as api:
            await api.config(
                "set",
                f"{self._vsys()}/profiles/custom-url-category/entry[@name='{category}']",
                f"<type>URL List</type><list><member>{escape(entry)}</member></list>",
            )
            job, result = await self._commit(api)
        return Change(
            action="block url",
            value=params.url,
            entry=entry,
            container=category,
            job=job,
            commit=result,
        )

    @action("unblock url", widget=CHANGE_WIDGET)
    async def unblock_url(self, ctx: ActionContext, params: UrlParams) -> Change:
        """Remove the URL from the custom URL category; absent is fine."""
        entry, category = url_entry(params.url), self.config.url_category
        async with self._api(ctx) as api:
            await api.config(
                "delete",
                f"{self._vsys()}/profiles/custom-url-category/entry[@name='{category}']"
                f"/list/member[text()='{entry}']",
            )
            job, result = await self._commit(api)
        return Change(
            action="unblock url",
            value=params.url,
            entry=entry,
            container=category,
            job=job,
            commit=result,
        )

    @action("test connectivity")
    async def test_connectivity(self, ctx: ActionContext, params: NoParams) -> SystemInfo:
        """Authenticate and read ``show system info``."""
        async with self._api(ctx) as api:
            info = system_info(await api.op("<show><system><info></info></system></show>"))
        return SystemInfo(
            hostname=info["hostname"],
            model=info["model"],
            serial=info["serial"],
            sw_version=info["sw-version"],
        )
