"""A fake AbuseIPDB APIv2 ``check`` endpoint.

Follows "AbuseIPDB APIv2 Documentation" — https://docs.abuseipdb.com/ ("CHECK Endpoint":
``GET /api/v2/check?ipAddress=&maxAgeInDays=`` with the key in the ``Key`` header and
``Accept: application/json``; the answer ``{"data": {"ipAddress", "isPublic", "ipVersion",
"isWhitelisted", "abuseConfidenceScore", "countryCode", "usageType", "isp", "domain",
"hostnames", "totalReports", "numDistinctUsers", "lastReportedAt"}}``; errors as
``{"errors": [{"detail", "status"}]}``; a 429 with ``Retry-After`` and ``X-RateLimit-*``).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


def abuse_error(status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        {"errors": [{"detail": detail, "status": status}]}, status_code=status, headers=headers
    )


@dataclass
class FakeAbuseIpdb:
    """Reports by address, the accepted key and a daily limit."""

    key: str = "abuseipdb-key-0123456789abcdef0123"
    scores: dict[str, dict[str, Any]] = field(default_factory=dict)
    remaining: int = 1000
    retry_after: int = 3600
    queries: list[dict[str, str]] = field(default_factory=list)

    def app(self) -> Starlette:
        async def check(request: Request) -> Response:
            self.queries.append(dict(request.query_params))
            if request.headers.get("key") != self.key:
                return abuse_error(
                    401,
                    "Authentication failed. Your API key is either missing, incorrect, or "
                    "revoked. Note: The APIv2 key differs from the APIv1 key.",
                )
            if self.remaining <= 0:
                return abuse_error(
                    429,
                    "Daily rate limit of 1000 requests exceeded for this endpoint.",
                    {
                        "Retry-After": str(self.retry_after),
                        "X-RateLimit-Limit": "1000",
                        "X-RateLimit-Remaining": "0",
                    },
                )
            self.remaining -= 1
            raw = request.query_params.get("ipAddress", "")
            try:
                address = ipaddress.ip_address(raw)
            except ValueError:
                return abuse_error(
                    422,
                    "The ip address must be a valid IPv4 or IPv6 address "
                    "(e.g. 8.8.8.8 or 2001:4860:4860::8888).",
                )
            known = self.scores.get(str(address), {})
            return JSONResponse(
                {
                    "data": {
                        "ipAddress": str(address),
                        "isPublic": address.is_global,
                        "ipVersion": address.version,
                        "isWhitelisted": False,
                        "abuseConfidenceScore": known.get("score", 0),
                        "countryCode": known.get("country"),
                        "usageType": known.get("usage"),
                        "isp": known.get("isp"),
                        "domain": None,
                        "hostnames": [],
                        "totalReports": known.get("reports", 0),
                        "numDistinctUsers": known.get("users", 0),
                        "lastReportedAt": known.get("last"),
                    }
                },
                headers={"X-RateLimit-Limit": "1000", "X-RateLimit-Remaining": str(self.remaining)},
            )

        return Starlette(routes=[Route("/api/v2/check", check, methods=["GET"])])
