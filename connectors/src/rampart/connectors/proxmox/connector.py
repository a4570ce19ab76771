"""The ``proxmox`` connector: suspend and resume QEMU virtual machines on Proxmox VE.

It authenticates with an API token (``Authorization: PVEAPIToken=USER@REALM!TOKENID=UUID``).
A VM is named by its VMID or its name, found with ``GET /cluster/resources?type=vm`` (which
also says which node it runs on). Power changes are tasks: the API answers a UPID, and the
connector polls ``/nodes/{node}/tasks/{upid}/status`` until the task has stopped, then reads
``status/current`` (``qmpstatus`` tells paused from running).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel, Field, SecretStr

from rampart.sdk.connector import (
    ActionContext,
    ActionError,
    AssetConfig,
    Connector,
    NoParams,
    ProductClient,
    TlsOptions,
    VmParams,
    action,
    product_client,
)

WIDGET = """<p class="rampart-vm">{{ result.name }} ({{ result.node }}/{{ result.vmid }}):
{{ result.qmpstatus }}
{% if result.task %} &mdash; task <code>{{ result.task }}</code>{% endif %}</p>"""


class ProxmoxConfig(AssetConfig):
    """A Proxmox VE node or cluster and an API token allowed VM.PowerMgmt."""

    url: str = Field(pattern=r"^https://", max_length=2048, description="https://pve:8006")
    token_id: str = Field(
        pattern=r"^[A-Za-z0-9._-]+@[A-Za-z0-9._-]+![A-Za-z][A-Za-z0-9._-]*$",
        description="USER@REALM!TOKENID",
    )
    token_secret: SecretStr = Field(description="the token's UUID secret")
    task_timeout_s: float = Field(default=120.0, gt=0, le=3600)
    poll_interval_s: float = Field(default=1.0, gt=0, le=60)
    request_timeout_s: float = Field(default=30.0, gt=0, le=300)
    tls: TlsOptions = TlsOptions()


class VmState(BaseModel):
    """A VM after the action, and the task that changed it."""

    vmid: int
    name: str
    node: str
    status: str
    qmpstatus: str
    task: str | None


class ClusterStatus(BaseModel):
    """The API answered with its version."""

    version: str
    release: str | None


class ProxmoxConnector(Connector[ProxmoxConfig]):
    """VM suspend and resume on Proxmox VE."""

    name = "proxmox"
    vendor = "Proxmox"
    product = "Proxmox VE"
    description = "Suspends and resumes QEMU VMs through the Proxmox VE API with an API token."
    config_model = ProxmoxConfig

    def _client(self, ctx: ActionContext) -> Any:
        config = self.config
        secret = config.token_secret.get_secret_value()
        return product_client(
            ctx,
            config.url.rstrip("/") + "/api2/json",
            tls=config.tls,
            headers={"Authorization": f"PVEAPIToken={config.token_id}={secret}"},
            request_timeout_s=config.request_timeout_s,
            secrets=[config.token_secret],
        )

    async def _find(self, api: ProductClient, vm: str) -> dict[str, Any]:
        found = await api.get_json("/cluster/resources", params={"type": "vm"})
        rows = [r for r in (found or {}).get("data") or [] if r.get("type") == "qemu"]
        matches = [r for r in rows if str(r.get("vmid")) == vm or r.get("name") == vm]
        if not matches:
            raise ActionError(f"Proxmox VE has no QEMU VM with VMID or name {vm!r}")
        if len(matches) > 1:
            raise ActionError(f"{len(matches)} VMs are named {vm!r}; give the VMID")
        return dict(matches[0])

    async def _wait(self, api: ProductClient, node: str, upid: str) -> None:
        deadline = time.monotonic() + self.config.task_timeout_s
        path = f"/nodes/{quote(node, safe='')}/tasks/{quote(upid, safe='')}/status"
        while True:
            task = (await api.get_json(path) or {}).get("data") or {}
            if task.get("status") == "stopped":
                if task.get("exitstatus") != "OK":
                    raise ActionError(f"Proxmox VE task {upid} failed: {task.get('exitstatus')}")
                return
            if time.monotonic() >= deadline:
                raise ActionError(
                    f"Proxmox VE task {upid} still running after {self.config.task_timeout_s:g} s"
                )
            await asyncio.sleep(self.config.poll_interval_s)

    async def _change(self, ctx: ActionContext, vm: str, verb: str) -> VmState:
        async with self._client(ctx) as api:
            found = await self._find(api, vm)
            node, vmid = str(found["node"]), int(found["vmid"])
            base = f"/nodes/{quote(node, safe='')}/qemu/{vmid}/status"
            before = (await api.get_json(f"{base}/current") or {}).get("data") or {}
            paused = before.get("qmpstatus") in ("paused", "suspended")
            upid: str | None = None
            if (verb == "suspend") != paused:
                if before.get("status") != "running":
                    raise ActionError(f"VM {vmid} is {before.get('status')}, not running")
                answer = await api.json("POST", f"{base}/{verb}")
                upid = str((answer or {}).get("data") or "") or None
                if upid is None:
                    raise ActionError(f"Proxmox VE started no task for {verb} of VM {vmid}")
                await self._wait(api, node, upid)
            after = (await api.get_json(f"{base}/current") or {}).get("data") or {}
        return VmState(
            vmid=vmid,
            name=str(found.get("name") or vmid),
            node=node,
            status=str(after.get("status")),
            qmpstatus=str(after.get("qmpstatus")),
            task=upid,
        )

    @action("suspend vm", widget=WIDGET)
    async def suspend_vm(self, ctx: ActionContext, params: VmParams) -> VmState:
        """Pause a running VM (``status/suspend``) and wait for the task."""
        return await self._change(ctx, params.vm, "suspend")

    @action("resume vm", widget=WIDGET)
    async def resume_vm(self, ctx: ActionContext, params: VmParams) -> VmState:
        """Resume a paused VM (``status/resume``) and wait for the task."""
        return await self._change(ctx, params.vm, "resume")

    @action("test connectivity")
    async def test_connectivity(self, ctx: ActionContext, params: NoParams) -> ClusterStatus:
        """Read ``/version`` with the token."""
        async with self._client(ctx) as api:
            data = (await api.get_json("/version") or {}).get("data") or {}
        return ClusterStatus(version=str(data.get("version")), release=data.get("release"))
