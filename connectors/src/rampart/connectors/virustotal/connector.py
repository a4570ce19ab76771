"""The ``virustotal`` connector: the VirusTotal API v3 object reports, with an ``x-apikey``.

Each lookup reads one object (``/api/v3/ip_addresses/{ip}``, ``/files/{hash}``,
``/domains/{domain}``, ``/urls/{id}`` where the id is the URL in unpadded base64url) and
answers its ``last_analysis_stats`` and ``reputation``. An object VirusTotal has never seen
(404 ``NotFoundError``) is an answer, ``found: false``, not a failure. VirusTotal's quota
error (429 ``QuotaExceededError``) carries no ``Retry-After``; its quotas are per minute, so
the run is retried after 60 s.
"""

from __future__ import annotations

import base64
import contextlib
from typing import Any, Literal
from urllib.parse import quote

import httpx
from pydantic import BaseModel, Field, SecretStr

from rampart.sdk.connector import (
    ActionContext,
    AssetConfig,
    Connector,
    HttpsUrl,
    LookupDomainParams,
    LookupHashParams,
    LookupIpParams,
    LookupUrlParams,
    NoParams,
    ProductClient,
    TlsOptions,
    action,
    product_client,
    retry_after_seconds,
)

VERDICT_WIDGET = """<table class="rampart-virustotal">
<caption>VirusTotal: {{ result.kind }} <code>{{ result.value }}</code></caption>
<tbody>{% if result.found %}
<tr><th>Verdict</th><td><strong>{{ result.verdict }}</strong></td></tr>
<tr><th>Malicious</th><td>{{ result.malicious }}</td></tr>
<tr><th>Suspicious</th><td>{{ result.suspicious }}</td></tr>
<tr><th>Harmless</th><td>{{ result.harmless }}</td></tr>
<tr><th>Undetected</th><td>{{ result.undetected }}</td></tr>
<tr><th>Reputation</th><td>{{ result.reputation }}</td></tr>
{% else %}<tr><td>not known to VirusTotal</td></tr>{% endif %}
</tbody></table>"""

Kind = Literal["ip", "hash", "domain", "url"]


class VirusTotalConfig(AssetConfig):
    """The API key, and how many engines saying malicious make a malicious verdict."""

    api_key: SecretStr = Field(description="a VirusTotal API key (sent as x-apikey)")
    url: HttpsUrl = "https://www.virustotal.com"
    malicious_threshold: int = Field(
        default=1, ge=1, le=100, description="engines flagging malicious for a malicious verdict"
    )
    tls: TlsOptions = TlsOptions()
    request_timeout_s: float = Field(default=30.0, gt=0, le=300)


class VirusTotalVerdict(BaseModel):
    """What VirusTotal's engines last said of one object."""

    kind: Kind
    value: str
    found: bool
    verdict: Literal["malicious", "suspicious", "clean", "unknown"]
    malicious: int = 0
    suspicious: int = 0
    harmless: int = 0
    undetected: int = 0
    reputation: int | None = None
    link: str | None = None


class VirusTotalStatus(BaseModel):
    """The key is accepted."""

    ok: bool
    user: str | None = None


def _quota_wait(response: httpx.Response) -> float:
    return retry_after_seconds(response.headers.get("retry-after")) or 60.0


def url_id(url: str) -> str:
    """VirusTotal's identifier of a URL: its unpadded base64url encoding."""
    return base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")


class VirusTotalConnector(Connector[VirusTotalConfig]):
    """Reputation from VirusTotal."""

    name = "virustotal"
    vendor = "Google"
    product = "VirusTotal"
    description = "Looks up addresses, file hashes, domains and URLs in VirusTotal (API v3)."
    config_model = VirusTotalConfig

    def _api(self, ctx: ActionContext) -> contextlib.AbstractAsyncContextManager[ProductClient]:
        key = self.config.api_key.get_secret_value()
        return product_client(
            ctx,
            self.config.url,
            tls=self.config.tls,
            headers={"x-apikey": key, "Accept": "application/json"},
            request_timeout_s=self.config.request_timeout_s,
            secrets=[key],
            retry_after=_quota_wait,
        )

    async def _lookup(
        self, ctx: ActionContext, kind: Kind, value: str, collection: str, ident: str
    ) -> VirusTotalVerdict:
        async with self._api(ctx) as api:
            response = await api.get(f"/api/v3/{collection}/{quote(ident, safe='')}", accept=(404,))
        if response.status_code == 404:
            return VirusTotalVerdict(kind=kind, value=value, found=False, verdict="unknown")
        body: Any = response.json()
        attributes = body.get("data", {}).get("attributes", {}) if isinstance(body, dict) else {}
        stats = attributes.get("last_analysis_stats", {})
        counts = {
            k: int(stats.get(k, 0)) for k in ("malicious", "suspicious", "harmless", "undetected")
        }
        if counts["malicious"] >= self.config.malicious_threshold:
            verdict: Literal["malicious", "suspicious", "clean", "unknown"] = "malicious"
        elif counts["malicious"] or counts["suspicious"]:
            verdict = "suspicious"
        elif counts["harmless"] or counts["undetected"]:
            verdict = "clean"
        else:
            verdict = "unknown"
        reputation = attributes.get("reputation")
        return VirusTotalVerdict(
            kind=kind,
            value=value,
            found=True,
            verdict=verdict,
            reputation=reputation if isinstance(reputation, int) else None,
            link=body.get("data", {}).get("links", {}).get("self"),
            **counts,
        )

    @action("lookup ip", widget=VERDICT_WIDGET)
    async def lookup_ip(self, ctx: ActionContext, params: LookupIpParams) -> VirusTotalVerdict:
        """The IP address report."""
        return await self._lookup(ctx, "ip", params.ip, "ip_addresses", params.ip)

    @action("lookup hash", widget=VERDICT_WIDGET)
    async def lookup_hash(self, ctx: ActionContext, params: LookupHashParams) -> VirusTotalVerdict:
        """The file report of an MD5, SHA-1 or SHA-256."""
        return await self._lookup(ctx, "hash", params.hash, "files", params.hash)

    @action("lookup domain", widget=VERDICT_WIDGET)
    async def lookup_domain(
        self, ctx: ActionContext, params: LookupDomainParams
    ) -> VirusTotalVerdict:
        """The domain report."""
        return await self._lookup(ctx, "domain", params.domain, "domains", params.domain)

    @action("lookup url", widget=VERDICT_WIDGET)
    async def lookup_url(self, ctx: ActionContext, params: LookupUrlParams) -> VirusTotalVerdict:
        """The URL report, by the URL's base64url identifier."""
        return await self._lookup(ctx, "url", params.url, "urls", url_id(params.url))

    @action("test connectivity")
    async def test_connectivity(self, ctx: ActionContext, params: NoParams) -> VirusTotalStatus:
        """Read a well-known domain's report: the key is accepted."""
        async with self._api(ctx) as api:
            await api.get("/api/v3/domains/virustotal.com", accept=(404,))
        return VirusTotalStatus(ok=True)
