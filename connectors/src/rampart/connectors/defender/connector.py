"""The ``defender`` connector: isolation, quarantine, live response and hunting on MDE.

Tokens come from Microsoft Entra ID with OAuth2 client credentials (the token URL is
configurable, for sovereign clouds). A host is a machine id (40 hex digits) or found by
``computerDnsName`` / ``lastIpAddress`` through ``GET /api/machines?$filter=``, following
``@odata.nextLink``. Isolation and ``StopAndQuarantineFile`` are machine actions Defender
carries out when the device next checks in: the connector returns the action as accepted.
``run script`` runs a library script through live response, waits for the machine action to
succeed and reads the script's output from the result download link (a storage URL with its
own signature, fetched without the API token). ``hunt ip`` is an advanced hunting query.
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import BaseModel, Field, SecretStr

from rampart.sdk.connector import (
    ActionContext,
    ActionError,
    AssetConfig,
    ClientCredentials,
    Connector,
    HostParams,
    HuntIpParams,
    NoParams,
    ProductClient,
    QuarantineFileParams,
    RunScriptParams,
    TlsOptions,
    action,
    product_client,
)

_MACHINE_ID = re.compile(r"^[0-9a-f]{40}$")
_SCRIPT = re.compile(r"^[A-Za-z0-9._-]{1,200}\.(?:ps1|sh|py|bat|cmd)$")
_HOST = re.compile(r"^[A-Za-z0-9._:-]{1,255}$")

ACTION_WIDGET = """<p class="rampart-mde">{{ result.type }} on {{ result.host }}:
{{ result.status }} (<code>{{ result.action_id }}</code>)</p>"""
HUNT_TABLE = """<table class="rampart-hunt"><caption>{{ result.count }} devices talked to
{{ result.ip }}</caption><tbody>{% for d in result.devices %}<tr><td>{{ d.device_name }}</td>
<td>{{ d.connections }}</td><td>{{ d.last_seen }}</td></tr>{% endfor %}</tbody></table>"""


class DefenderConfig(AssetConfig):
    """A tenant's Defender for Endpoint API and an Entra ID application's credentials."""

    url: str = Field(
        default="https://api.securitycenter.microsoft.com", pattern=r"^https://", max_length=2048
    )
    tenant_id: str = Field(pattern=r"^[A-Za-z0-9.-]{1,255}$")
    client_id: str = Field(min_length=1, max_length=255)
    client_secret: SecretStr
    token_url: str | None = Field(
        default=None,
        pattern=r"^https://",
        description="default https://login.microsoftonline.com/{tenant_id}/oauth2/v2.0/token",
    )
    scope: str = "https://api.securitycenter.microsoft.com/.default"
    isolation_type: str = Field(default="Full", pattern=r"^(Full|Selective)$")
    action_timeout_s: float = Field(default=600.0, gt=0, le=3600)
    poll_interval_s: float = Field(default=5.0, gt=0, le=60)
    request_timeout_s: float = Field(default=60.0, gt=0, le=300)
    tls: TlsOptions = TlsOptions()


class MachineAction(BaseModel):
    """A machine action Defender accepted (or finished)."""

    host: str
    machine_id: str
    action_id: str
    type: str
    status: str


class ScriptRun(BaseModel):
    """A live response script's outcome."""

    host: str
    machine_id: str
    action_id: str
    script: str
    exit_code: int | None
    output: str
    errors: str


class HuntDevice(BaseModel):
    """A device that talked to the address."""

    device_id: str
    device_name: str | None
    connections: int
    last_seen: str | None


class IpHunt(BaseModel):
    """The devices that talked to an address in the last 30 days."""

    ip: str
    count: int
    devices: list[HuntDevice]


class TenantReachable(BaseModel):
    """A token was issued and the machines API answered."""

    ok: bool
    machines_seen: int


class DefenderConnector(Connector[DefenderConfig]):
    """Microsoft Defender for Endpoint: isolation, quarantine, live response, hunting."""

    name = "defender"
    vendor = "Microsoft"
    product = "Defender for Endpoint"
    description = (
        "Isolates and releases devices, stops and quarantines files, runs live response "
        "scripts and hunts addresses with Microsoft Defender for Endpoint's API."
    )
    config_model = DefenderConfig

    def _client(self, ctx: ActionContext) -> Any:
        c = self.config
        token_url = (
            c.token_url or f"https://login.microsoftonline.com/{c.tenant_id}/oauth2/v2.0/token"
        )
        auth = ClientCredentials(token_url, c.client_id, c.client_secret, c.scope)
        return product_client(
            ctx,
            c.url,
            tls=c.tls,
            auth=auth,
            request_timeout_s=c.request_timeout_s,
            secrets=[c.client_secret],
        )

    async def _machine(self, api: ProductClient, host: str) -> str:
        if _MACHINE_ID.match(host.lower()):
            return host.lower()
        if not _HOST.match(host):
            raise ActionError("a Defender host is a machine id, a DNS name or an address")
        field = "lastIpAddress" if re.match(r"^[0-9.]+$|:", host) else "computerDnsName"
        found: list[str] = []
        async for page in api.pages(
            "/api/machines",
            params={"$filter": f"{field} eq '{host.lower()}'"},
            next_page=lambda body: (body or {}).get("@odata.nextLink"),
        ):
            found.extend(str(m["id"]) for m in (page or {}).get("value", []))
        if not found:
            raise ActionError(f"Defender knows no device {host!r}")
        if len(found) > 1:
            raise ActionError(f"{host!r} names {len(found)} Defender devices; give the machine id")
        return found[0]

    async def _act(
        self, ctx: ActionContext, host: str, path: str, body: dict[str, Any]
    ) -> MachineAction:
        async with self._client(ctx) as api:
            machine = await self._machine(api, host)
            answer = await api.json("POST", f"/api/machines/{machine}/{path}", json=body)
        return MachineAction(
            host=host,
            machine_id=machine,
            action_id=str(answer.get("id")),
            type=str(answer.get("type")),
            status=str(answer.get("status")),
        )

    @action("isolate host", widget=ACTION_WIDGET)
    async def isolate_host(self, ctx: ActionContext, params: HostParams) -> MachineAction:
        """``POST /api/machines/{id}/isolate`` with the configured isolation type."""
        return await self._act(
            ctx,
            params.host,
            "isolate",
            {"Comment": "isolated by Rampart", "IsolationType": self.config.isolation_type},
        )

    @action("release host", widget=ACTION_WIDGET)
    async def release_host(self, ctx: ActionContext, params: HostParams) -> MachineAction:
        """``POST /api/machines/{id}/unisolate``."""
        return await self._act(ctx, params.host, "unisolate", {"Comment": "released by Rampart"})

    @action("quarantine file", widget=ACTION_WIDGET)
    async def quarantine_file(
        self, ctx: ActionContext, params: QuarantineFileParams
    ) -> MachineAction:
        """``StopAndQuarantineFile``: Defender stops and quarantines a file by its SHA-1."""
        if params.host is None:
            raise ActionError("Defender quarantines a file on one device: give host")
        if params.hash is None or len(params.hash) != 40:
            raise ActionError("Defender's StopAndQuarantineFile takes the file's SHA-1")
        return await self._act(
            ctx,
            params.host,
            "StopAndQuarantineFile",
            {"Comment": "quarantined by Rampart", "Sha1": params.hash},
        )

    @action("run script")
    async def run_script(self, ctx: ActionContext, params: RunScriptParams) -> ScriptRun:
        """Live response ``RunScript`` of a library script; waits for it and reads its output."""
        if params.host is None:
            raise ActionError("run script on Defender needs host")
        if not _SCRIPT.match(params.script):
            raise ActionError("Defender runs scripts from its library: give the script's file name")
        parameters = [{"key": "ScriptName", "value": params.script}]
        if params.args:
            parameters.append({"key": "Args", "value": " ".join(params.args)})
        body = {
            "Commands": [{"type": "RunScript", "params": parameters}],
            "Comment": "run by Rampart",
        }
        async with self._client(ctx) as api:
            machine = await self._machine(api, params.host)
            started = await api.json("POST", f"/api/machines/{machine}/runliveresponse", json=body)
            action_id = str(started.get("id"))
            await self._wait(
                api, action_id, min(params.timeout_seconds, self.config.action_timeout_s)
            )
            link = await api.get_json(
                f"/api/machineactions/{quote(action_id, safe='')}"
                "/GetLiveResponseResultDownloadLink(index=0)"
            )
        result = await self._download(ctx, str((link or {}).get("value") or ""))
        return ScriptRun(
            host=params.host,
            machine_id=machine,
            action_id=action_id,
            script=params.script,
            exit_code=result.get("exit_code"),
            output=str(result.get("script_output") or ""),
            errors=str(result.get("script_errors") or ""),
        )

    async def _wait(self, api: ProductClient, action_id: str, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            state = await api.get_json(f"/api/machineactions/{quote(action_id, safe='')}")
            status = (state or {}).get("status")
            if status == "Succeeded":
                return
            if status in ("Failed", "Cancelled", "TimeOut"):
                raise ActionError(f"Defender machine action {action_id} ended {status}")
            if time.monotonic() >= deadline:
                raise ActionError(f"Defender machine action {action_id} still {status}")
            await asyncio.sleep(self.config.poll_interval_s)

    async def _download(self, ctx: ActionContext, link: str) -> dict[str, Any]:
        """The live response result behind a signed storage link, fetched without the token."""
        url = httpx.URL(link)
        if url.scheme != "https" or not url.host:
            raise ActionError("Defender gave no https download link for the result")
        origin = f"{url.scheme}://{url.netloc.decode()}"
        async with product_client(
            ctx,
            origin,
            tls=self.config.tls,
            request_timeout_s=self.config.request_timeout_s,
            secrets=[url.query.decode()],
        ) as storage:
            body = await storage.get_json(link)
        return body if isinstance(body, dict) else {}

    @action("hunt ip", widget=HUNT_TABLE)
    async def hunt_ip(self, ctx: ActionContext, params: HuntIpParams) -> IpHunt:
        """Advanced hunting over ``DeviceNetworkEvents`` for connections to the address."""
        query = (
            f"DeviceNetworkEvents | where RemoteIP == '{params.ip}' "
            "| summarize Connections = count(), LastSeen = max(Timestamp) by DeviceId, DeviceName"
            f" | top {params.limit} by LastSeen desc"
        )
        async with self._client(ctx) as api:
            answer = await api.json("POST", "/api/advancedqueries/run", json={"Query": query})
        rows = (answer or {}).get("Results") or []
        devices = [
            HuntDevice(
                device_id=str(r.get("DeviceId")),
                device_name=r.get("DeviceName"),
                connections=int(r.get("Connections") or 0),
                last_seen=r.get("LastSeen"),
            )
            for r in rows[: params.limit]
        ]
        return IpHunt(ip=params.ip, count=len(devices), devices=devices)

    @action("test connectivity")
    async def test_connectivity(self, ctx: ActionContext, params: NoParams) -> TenantReachable:
        """Get a token and read one page of machines."""
        async with self._client(ctx) as api:
            body = await api.get_json("/api/machines", params={"$top": 1})
        return TenantReachable(ok=True, machines_seen=len((body or {}).get("value", [])))
