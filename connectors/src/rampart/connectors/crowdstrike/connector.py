"""The ``crowdstrike`` connector: containment, Real Time Response and custom IOCs on Falcon.

Hosts are contained and released with ``devices-actions/v2``. Processes are listed
(``ps``), killed (``kill``) and dumped (``memdump``, then ``get``, the archive streamed into
the vault) in a Real Time Response session. ``hunt hash`` lists the hosts that observed a
hash (``/indicators/queries/devices/v1``, every page). ``block hash`` makes a custom IOC
with the ``prevent`` action (``/iocs/entities/indicators/v1``); ``quarantine file`` does the
same for the file's hash (read with RTR ``filehash`` when a path is given), so Falcon blocks
and quarantines it wherever it appears.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, Field, SecretStr

from rampart.connectors.crowdstrike.falcon import (
    device_id,
    next_offset,
    parse_ps,
    resources,
    rtr_session,
)
from rampart.sdk.connector import (
    ActionContext,
    ActionError,
    AssetConfig,
    ClientCredentials,
    Connector,
    HashParams,
    HostParams,
    HuntHashParams,
    ListProcessesParams,
    NoParams,
    ProcessParams,
    ProductClient,
    QuarantineFileParams,
    TerminateProcessParams,
    TlsOptions,
    VaultRef,
    action,
    product_client,
)

PROCESS_TABLE = """<table class="rampart-processes"><caption>{{ result.count }} processes on
{{ result.host }}</caption><tbody>{% for p in result.processes %}<tr><td>{{ p.pid }}</td>
<td>{{ p.name }}</td></tr>{% endfor %}</tbody></table>"""
HUNT_TABLE = """<table class="rampart-hunt"><caption>{{ result.count }} hosts saw
{{ result.hash }}</caption><tbody>{% for d in result.devices %}<tr><td>{{ d.hostname }}</td>
<td><code>{{ d.device_id }}</code></td></tr>{% endfor %}</tbody></table>"""
CONTAIN_WIDGET = """<p class="rampart-containment">{{ result.host }}
(<code>{{ result.device_id }}</code>): {{ result.action }} requested</p>"""
IOC_WIDGET = """<p class="rampart-ioc">{{ result.hash }}: IOC <code>{{ result.ioc_id }}</code>
{{ result.action }}{% if not result.changed %} (already){% endif %}</p>"""


class CrowdstrikeConfig(AssetConfig):
    """A Falcon cloud, an API client's credentials, and how IOCs are made."""

    url: str = Field(
        default="https://api.crowdstrike.com",
        pattern=r"^https://",
        max_length=2048,
        description="the Falcon cloud's API, e.g. https://api.eu-1.crowdstrike.com",
    )
    client_id: str = Field(min_length=1, max_length=255)
    client_secret: SecretStr
    host: str | None = Field(
        default=None,
        max_length=255,
        description="the endpoint (AID or host name) of the process actions, whose "
        "parameters name none; an asset per endpoint, or per group of one",
    )
    ioc_platforms: list[str] = Field(default_factory=lambda: ["windows", "mac", "linux"])
    ioc_severity: str = Field(default="high", pattern=r"^(informational|low|medium|high|critical)$")
    dump_dir: str = Field(
        default="C:\\Windows\\Temp",
        max_length=255,
        pattern=r"^[A-Za-z]:\\[^'\"\x00]*$|^/[^'\"\x00]*$",
    )
    rtr_timeout_s: float = Field(default=120.0, gt=0, le=3600)
    poll_interval_s: float = Field(default=2.0, gt=0, le=60)
    request_timeout_s: float = Field(default=30.0, gt=0, le=300)
    tls: TlsOptions = TlsOptions()


class Containment(BaseModel):
    """A containment request Falcon accepted."""

    host: str
    device_id: str
    action: str


class Process(BaseModel):
    """One process as Real Time Response's ``ps`` lists it."""

    pid: int
    name: str


class ProcessList(BaseModel):
    """The processes of a host."""

    host: str
    device_id: str
    count: int
    processes: list[Process]


class Terminated(BaseModel):
    """The processes ``kill`` was run for."""

    host: str
    pids: list[int]


class ProcessDump(BaseModel):
    """A process's memory dump, as the 7z archive Falcon collected, in the vault."""

    host: str
    pid: int
    file: VaultRef


class HuntDevice(BaseModel):
    """A host that observed the hash."""

    device_id: str
    hostname: str | None


class HashHunt(BaseModel):
    """The hosts that observed a hash."""

    hash: str
    count: int
    devices: list[HuntDevice]
    truncated: bool


class IocChange(BaseModel):
    """A custom IOC made or removed."""

    hash: str
    ioc_id: str | None
    action: str
    changed: bool


class ApiReachable(BaseModel):
    """A token was issued and the hosts API answered."""

    ok: bool
    hosts: int


def _hash_type(value: str) -> str:
    kind = {32: "md5", 64: "sha256"}.get(len(value))
    if kind is None:
        raise ActionError("Falcon custom IOCs and hunts take MD5 or SHA-256 hashes")
    return kind


class CrowdstrikeConnector(Connector[CrowdstrikeConfig]):
    """CrowdStrike Falcon: containment, Real Time Response, hunting and custom IOCs."""

    name = "crowdstrike"
    vendor = "CrowdStrike"
    product = "Falcon"
    description = (
        "Contains hosts, lists, kills and dumps processes through Real Time Response, hunts "
        "hashes and blocks them with custom IOCs on CrowdStrike Falcon (OAuth2 API client)."
    )
    config_model = CrowdstrikeConfig

    def _client(self, ctx: ActionContext) -> Any:
        config = self.config
        url = config.url.rstrip("/")
        auth = ClientCredentials(f"{url}/oauth2/token", config.client_id, config.client_secret)
        return product_client(
            ctx,
            url,
            tls=config.tls,
            auth=auth,
            request_timeout_s=config.request_timeout_s,
            secrets=[config.client_secret],
        )

    def _host(self, action_name: str) -> str:
        if self.config.host is None:
            raise ActionError(f"{action_name} needs the asset's `host`: the endpoint to act on")
        return self.config.host

    def _rtr(self, api: ProductClient, aid: str) -> Any:
        return rtr_session(
            api, aid, timeout_s=self.config.rtr_timeout_s, poll_s=self.config.poll_interval_s
        )

    async def _contain(self, ctx: ActionContext, host: str, verb: str) -> Containment:
        async with self._client(ctx) as api:
            aid = await device_id(api, host)
            body = await api.json(
                "POST",
                "/devices/entities/devices-actions/v2",
                params={"action_name": verb},
                json={"ids": [aid]},
            )
        if not any(r.get("id") == aid for r in resources(body)):
            raise ActionError(f"Falcon did not accept {verb} for {host!r}")
        return Containment(host=host, device_id=aid, action=verb)

    @action("isolate host", widget=CONTAIN_WIDGET)
    async def isolate_host(self, ctx: ActionContext, params: HostParams) -> Containment:
        """Network-contain the host (``action_name=contain``)."""
        return await self._contain(ctx, params.host, "contain")

    @action("release host", widget=CONTAIN_WIDGET)
    async def release_host(self, ctx: ActionContext, params: HostParams) -> Containment:
        """Lift the host's containment (``action_name=lift_containment``)."""
        return await self._contain(ctx, params.host, "lift_containment")

    async def _processes(self, api: ProductClient, aid: str) -> list[dict[str, Any]]:
        async with self._rtr(api, aid) as session:
            return parse_ps(await session.run("command", "ps"))

    @action("list processes", widget=PROCESS_TABLE)
    async def list_processes(self, ctx: ActionContext, params: ListProcessesParams) -> ProcessList:
        """Real Time Response ``ps``, optionally only processes with the exact name."""
        host = self._host("list processes")
        async with self._client(ctx) as api:
            aid = await device_id(api, host)
            found = await self._processes(api, aid)
        if params.name is not None:
            found = [p for p in found if p["name"] == params.name]
        return ProcessList(
            host=host, device_id=aid, count=len(found), processes=[Process(**p) for p in found]
        )

    @action("terminate process")
    async def terminate_process(
        self, ctx: ActionContext, params: TerminateProcessParams
    ) -> Terminated:
        """Real Time Response ``kill`` of the process, or of every process with the name."""
        async with self._client(ctx) as api:
            aid = await device_id(api, self._host("terminate process"))
            async with self._rtr(api, aid) as session:
                if params.pid is not None:
                    pids = [params.pid]
                else:
                    listed = parse_ps(await session.run("command", "ps"))
                    pids = [p["pid"] for p in listed if p["name"] == params.name]
                for pid in pids:
                    await session.run("admin-command", f"kill {pid}")
        return Terminated(host=self._host("terminate process"), pids=pids)

    @action("get process dump")
    async def get_process_dump(self, ctx: ActionContext, params: ProcessParams) -> ProcessDump:
        """``memdump`` into ``dump_dir``, ``get`` it, and stream Falcon's archive to the vault."""
        if ctx.vault is None:
            raise ActionError("get process dump needs the vault")
        separator = "\\" if "\\" in self.config.dump_dir else "/"
        path = f"{self.config.dump_dir.rstrip(separator)}{separator}rampart-{params.pid}.dmp"
        async with self._client(ctx) as api:
            aid = await device_id(api, self._host("get process dump"))
            async with self._rtr(api, aid) as session:
                await session.run("admin-command", f"memdump {params.pid} '{path}'")
                await session.run("active-responder-command", f"get '{path}'")
                entry = await session.collected(path)
                async with ctx.vault.upload(
                    name=f"rampart-{params.pid}.dmp.7z", content_type="application/x-7z-compressed"
                ) as upload:
                    async for chunk in session.download(str(entry["sha256"]), path):
                        await upload.write(chunk)
                await session.run("admin-command", f"rm '{path}'")
        assert upload.ref is not None
        return ProcessDump(host=self._host("get process dump"), pid=params.pid, file=upload.ref)

    @action("hunt hash", widget=HUNT_TABLE)
    async def hunt_hash(self, ctx: ActionContext, params: HuntHashParams) -> HashHunt:
        """The hosts that observed the hash, following every page up to ``limit``."""
        kind = _hash_type(params.hash)
        ids: list[str] = []
        truncated = False
        async with self._client(ctx) as api:
            async for body in api.pages(
                "/indicators/queries/devices/v1",
                params={"type": kind, "value": params.hash, "limit": min(params.limit, 100)},
                next_page=next_offset,
            ):
                ids.extend(str(i) for i in resources(body))
                if len(ids) >= params.limit:
                    truncated = len(ids) > params.limit or next_offset(body) is not None
                    ids = ids[: params.limit]
                    break
            names: dict[str, str | None] = {}
            for start in range(0, len(ids), 100):
                chunk = ids[start : start + 100]
                details = await api.get_json(
                    "/devices/entities/devices/v2", params=[("ids", i) for i in chunk]
                )
                names.update({d["device_id"]: d.get("hostname") for d in resources(details)})
        devices = [HuntDevice(device_id=i, hostname=names.get(i)) for i in ids]
        return HashHunt(hash=params.hash, count=len(devices), devices=devices, truncated=truncated)

    async def _find_ioc(self, api: ProductClient, kind: str, value: str) -> str | None:
        body = await api.get_json(
            "/iocs/queries/indicators/v1", params={"filter": f"type:'{kind}'+value:'{value}'"}
        )
        found = resources(body)
        return str(found[0]) if found else None

    async def _prevent(self, ctx: ActionContext, value: str, why: str) -> IocChange:
        kind = _hash_type(value)
        async with self._client(ctx) as api:
            existing = await self._find_ioc(api, kind, value)
            if existing is not None:
                return IocChange(hash=value, ioc_id=existing, action="prevent", changed=False)
            body = await api.json(
                "POST",
                "/iocs/entities/indicators/v1",
                json={
                    "comment": why,
                    "indicators": [
                        {
                            "type": kind,
                            "value": value,
                            "action": "prevent",
                            "platforms": self.config.ioc_platforms,
                            "severity": self.config.ioc_severity,
                            "applied_globally": True,
                            "source": "Rampart",
                            "description": why,
                        }
                    ],
                },
            )
        made = resources(body)
        return IocChange(
            hash=value, ioc_id=str(made[0]["id"]) if made else None, action="prevent", changed=True
        )

    @action("block hash", widget=IOC_WIDGET)
    async def block_hash(self, ctx: ActionContext, params: HashParams) -> IocChange:
        """A custom IOC with the ``prevent`` action, applied to every host."""
        return await self._prevent(ctx, params.hash, "blocked by Rampart")

    @action("unblock hash", widget=IOC_WIDGET)
    async def unblock_hash(self, ctx: ActionContext, params: HashParams) -> IocChange:
        """Delete the hash's custom IOC, if there is one."""
        kind = _hash_type(params.hash)
        async with self._client(ctx) as api:
            existing = await self._find_ioc(api, kind, params.hash)
            if existing is not None:
                await api.request(
                    "DELETE",
                    "/iocs/entities/indicators/v1",
                    params={"ids": existing, "comment": "unblocked by Rampart"},
                )
        return IocChange(
            hash=params.hash, ioc_id=existing, action="removed", changed=existing is not None
        )

    @action("quarantine file", widget=IOC_WIDGET)
    async def quarantine_file(self, ctx: ActionContext, params: QuarantineFileParams) -> IocChange:
        """Prevent the file's hash everywhere; a path is hashed on its host with ``filehash``."""
        value = params.hash
        if value is None:
            assert params.path is not None
            if "'" in params.path:
                raise ActionError("a Real Time Response path cannot hold a quote")
            async with self._client(ctx) as api:
                aid = await device_id(api, params.host or self._host("quarantine file"))
                async with self._rtr(api, aid) as session:
                    out = await session.run("active-responder-command", f"filehash '{params.path}'")
            digest = re.search(r"\b[0-9a-fA-F]{64}\b", out)
            if digest is None:
                raise ActionError(f"filehash gave no SHA-256 for {params.path!r}")
            value = digest.group(0).lower()
        return await self._prevent(ctx, value, "quarantined by Rampart")

    @action("test connectivity")
    async def test_connectivity(self, ctx: ActionContext, params: NoParams) -> ApiReachable:
        """Get a token and query one host id."""
        async with self._client(ctx) as api:
            body = await api.get_json("/devices/queries/devices/v1", params={"limit": 1})
        total = (body or {}).get("meta", {}).get("pagination", {}).get("total", 0)
        return ApiReachable(ok=True, hosts=int(total))
