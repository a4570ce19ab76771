"""The ``abuseipdb`` connector: ``GET /api/v2/check`` with the API key in the ``Key`` header.

The abuse confidence score (0-100) of an address over the last ``max_age_days`` days, with
its report count, country, ISP and usage type. AbuseIPDB's errors come as
``{"errors": [{"detail", "status"}]}``; a 429 carries ``Retry-After``.
"""

from __future__ import annotations

import contextlib

from pydantic import BaseModel, Field, SecretStr

from rampart.sdk.connector import (
    ActionContext,
    ActionError,
    AssetConfig,
    Connector,
    HttpsUrl,
    LookupIpParams,
    NoParams,
    ProductClient,
    TlsOptions,
    action,
    product_client,
)

SCORE_WIDGET = """<p class="rampart-abuseipdb"><code>{{ result.ip }}</code>: abuse confidence
<strong>{{ result.abuse_confidence_score }}%</strong> from {{ result.total_reports }} reports
{% if result.country_code %}({{ result.country_code }}
{%- if result.isp %}, {{ result.isp }}{% endif %}){% endif %}</p>"""


class AbuseIpdbConfig(AssetConfig):
    """The API key and how far back reports count."""

    api_key: SecretStr = Field(description="an AbuseIPDB APIv2 key (sent as Key)")
    url: HttpsUrl = "https://api.abuseipdb.com"
    max_age_days: int = Field(default=90, ge=1, le=365)
    malicious_score: int = Field(
        default=75, ge=0, le=100, description="score from which an address counts as malicious"
    )
    tls: TlsOptions = TlsOptions()
    request_timeout_s: float = Field(default=30.0, gt=0, le=300)


class AbuseIpdbReport(BaseModel):
    """What AbuseIPDB knows of one address."""

    ip: str
    abuse_confidence_score: int
    malicious: bool
    total_reports: int
    distinct_users: int = 0
    is_public: bool | None = None
    is_whitelisted: bool | None = None
    country_code: str | None = None
    usage_type: str | None = None
    isp: str | None = None
    domain: str | None = None
    last_reported_at: str | None = None


class AbuseIpdbStatus(BaseModel):
    """The key is accepted."""

    ok: bool


class AbuseIpdbConnector(Connector[AbuseIpdbConfig]):
    """Address reputation from AbuseIPDB."""

    name = "abuseipdb"
    vendor = "AbuseIPDB"
    product = "AbuseIPDB"
    description = "Looks up an address's abuse confidence score and reports in AbuseIPDB (APIv2)."
    config_model = AbuseIpdbConfig

    def _api(self, ctx: ActionContext) -> contextlib.AbstractAsyncContextManager[ProductClient]:
        key = self.config.api_key.get_secret_value()
        return product_client(
            ctx,
            self.config.url,
            tls=self.config.tls,
            headers={"Key": key, "Accept": "application/json"},
            request_timeout_s=self.config.request_timeout_s,
            secrets=[key],
        )

    async def _check(self, ctx: ActionContext, ip: str) -> AbuseIpdbReport:
        async with self._api(ctx) as api:
            body = await api.get_json(
                "/api/v2/check", params={"ipAddress": ip, "maxAgeInDays": self.config.max_age_days}
            )
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            raise ActionError("AbuseIPDB answered without a data object")
        score = int(data.get("abuseConfidenceScore") or 0)
        return AbuseIpdbReport(
            ip=str(data.get("ipAddress", ip)),
            abuse_confidence_score=score,
            malicious=score >= self.config.malicious_score,
            total_reports=int(data.get("totalReports") or 0),
            distinct_users=int(data.get("numDistinctUsers") or 0),
            is_public=data.get("isPublic"),
            is_whitelisted=data.get("isWhitelisted"),
            country_code=data.get("countryCode"),
            usage_type=data.get("usageType"),
            isp=data.get("isp"),
            domain=data.get("domain"),
            last_reported_at=data.get("lastReportedAt"),
        )

    @action("lookup ip", widget=SCORE_WIDGET)
    async def lookup_ip(self, ctx: ActionContext, params: LookupIpParams) -> AbuseIpdbReport:
        """The address's abuse confidence score and reports."""
        return await self._check(ctx, params.ip)

    @action("test connectivity")
    async def test_connectivity(self, ctx: ActionContext, params: NoParams) -> AbuseIpdbStatus:
        """Check a documentation address: the key is accepted."""
        await self._check(ctx, "192.0.2.1")
        return AbuseIpdbStatus(ok=True)
