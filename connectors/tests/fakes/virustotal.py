"""A fake VirusTotal API v3: the IP address, file, domain and URL object reports.

Follows VirusTotal's published API reference:
- "Errors" — https://docs.virustotal.com/reference/errors (``{"error": {"code", "message"}}``;
  401 ``WrongCredentialsError`` / ``AuthenticationRequiredError``, 404 ``NotFoundError``,
  429 ``QuotaExceededError``)
- the object endpoints ``GET /api/v3/ip_addresses/{ip}``, ``/api/v3/files/{hash}``,
  ``/api/v3/domains/{domain}``, ``/api/v3/urls/{id}`` (id: the URL in unpadded base64url),
  authenticated by the ``x-apikey`` header, answering ``{"data": {"type", "id", "links",
  "attributes": {"last_analysis_stats", "reputation", ...}}}`` (https://docs.virustotal.com/reference/overview)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

TYPES = {"ip_addresses": "ip_address", "files": "file", "domains": "domain", "urls": "url"}


def vt_error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


@dataclass
class FakeVirusTotal:
    """Objects by collection and id, the accepted key, and a quota to exhaust."""

    key: str = "vt-api-key-0123456789abcdef"
    objects: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    quota: int | None = None
    requests: list[str] = field(default_factory=list)

    def add(
        self,
        collection: str,
        ident: str,
        *,
        malicious: int = 0,
        harmless: int = 60,
        suspicious: int = 0,
        reputation: int = 0,
    ) -> None:
        self.objects[(collection, ident)] = {
            "last_analysis_stats": {
                "malicious": malicious,
                "suspicious": suspicious,
                "harmless": harmless,
                "undetected": 10,
                "timeout": 0,
            },
            "reputation": reputation,
        }

    def app(self) -> Starlette:
        async def report(request: Request) -> Response:
            collection, ident = request.path_params["collection"], request.path_params["ident"]
            self.requests.append(f"GET /api/v3/{collection}/{ident}")
            key = request.headers.get("x-apikey")
            if key is None:
                return vt_error(401, "AuthenticationRequiredError", "X-Apikey header is missing")
            if key != self.key:
                return vt_error(401, "WrongCredentialsError", "Wrong API key")
            if self.quota is not None:
                if self.quota <= 0:
                    return vt_error(429, "QuotaExceededError", "Quota exceeded")
                self.quota -= 1
            if collection not in TYPES:
                return vt_error(400, "BadRequestError", f"Unknown collection {collection}")
            attributes = self.objects.get((collection, ident))
            if attributes is None:
                kind = TYPES[collection].replace("_", " ").title().replace(" ", "")
                return vt_error(404, "NotFoundError", f'{kind} "{ident}" not found')
            base = str(request.base_url).rstrip("/")
            return JSONResponse(
                {
                    "data": {
                        "type": TYPES[collection],
                        "id": ident,
                        "links": {"self": f"{base}/api/v3/{collection}/{ident}"},
                        "attributes": attributes,
                    }
                }
            )

        return Starlette(routes=[Route("/api/v3/{collection}/{ident}", report, methods=["GET"])])
