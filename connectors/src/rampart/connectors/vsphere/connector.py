"""The ``vsphere`` connector: suspend and resume virtual machines on vCenter.

A session is created with ``POST /api/session`` (HTTP basic) and its id sent as
``vmware-api-session-id``; it is deleted when the action ends. A VM is found by its name
(``GET /api/vcenter/vm?names=``) unless the parameter is already an id (``vm-42``). A VM
already in the wanted state answers ``ALREADY_IN_DESIRED_STATE``, which is success.
"""

from __future__ import annotations

import base64
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from pydantic import BaseModel, Field, SecretStr

from rampart.sdk.connector import (
    ActionContext,
    ActionError,
    AssetConfig,
    Connector,
    NoParams,
    ProductClient,
    TargetUnavailable,
    TlsOptions,
    VmParams,
    action,
    product_client,
)

_VM_ID = re.compile(r"^vm-\d+$")

WIDGET = """<p class="rampart-vm">{{ result.name }} ({{ result.vm }}):
{{ result.power_state }}{% if not result.changed %} (already){% endif %}</p>"""


class VsphereConfig(AssetConfig):
    """A vCenter and an account allowed to change VMs' power state."""

    url: str = Field(pattern=r"^https://", max_length=2048, description="https://vcenter")
    username: str = Field(min_length=1, max_length=255)
    password: SecretStr
    request_timeout_s: float = Field(default=60.0, gt=0, le=600)
    tls: TlsOptions = TlsOptions()


class VmPower(BaseModel):
    """A VM's power state after the action."""

    vm: str
    name: str
    power_state: str
    changed: bool


class VcenterStatus(BaseModel):
    """The session could be created; how many VMs the account sees."""

    ok: bool
    vms: int


class VsphereConnector(Connector[VsphereConfig]):
    """VM power control on VMware vCenter."""

    name = "vsphere"
    vendor = "VMware"
    product = "vSphere"
    description = "Suspends and resumes virtual machines through the vSphere Automation API."
    config_model = VsphereConfig

    @asynccontextmanager
    async def _session(self, ctx: ActionContext) -> AsyncIterator[ProductClient]:
        config = self.config
        async with product_client(
            ctx,
            config.url,
            tls=config.tls,
            request_timeout_s=config.request_timeout_s,
            secrets=[config.password],
        ) as api:
            basic = base64.b64encode(
                f"{config.username}:{config.password.get_secret_value()}".encode()
            ).decode()
            created = await api.json(
                "POST", "/api/session", headers={"Authorization": f"Basic {basic}"}
            )
            if not isinstance(created, str) or not created:
                raise ActionError("vCenter created no session")
            api.client.headers["vmware-api-session-id"] = created
            try:
                yield api
            finally:
                with suppress(ActionError, TargetUnavailable):
                    await api.request("DELETE", "/api/session")

    async def _find(self, api: ProductClient, vm: str) -> tuple[str, str]:
        if _VM_ID.match(vm):
            return vm, vm
        found = await api.get_json("/api/vcenter/vm", params={"names": vm})
        if not isinstance(found, list) or not found:
            raise ActionError(f"vCenter has no VM named {vm!r}")
        if len(found) > 1:
            raise ActionError(f"{len(found)} VMs are named {vm!r}; give the VM id (vm-N)")
        return str(found[0]["vm"]), str(found[0].get("name", vm))

    async def _power(self, ctx: ActionContext, vm: str, verb: str) -> VmPower:
        async with self._session(ctx) as api:
            vm_id, name = await self._find(api, vm)
            changed = True
            try:
                await api.post(f"/api/vcenter/vm/{vm_id}/power", params={"action": verb})
            except ActionError as exc:
                if "ALREADY_IN_DESIRED_STATE" not in str(exc) and "already" not in str(exc):
                    raise
                changed = False
            state = await api.get_json(f"/api/vcenter/vm/{vm_id}/power")
        return VmPower(vm=vm_id, name=name, power_state=str(state.get("state")), changed=changed)

    @action("suspend vm", widget=WIDGET)
    async def suspend_vm(self, ctx: ActionContext, params: VmParams) -> VmPower:
        """Suspend a powered-on VM (``POST .../power?action=suspend``)."""
        return await self._power(ctx, params.vm, "suspend")

    @action("resume vm", widget=WIDGET)
    async def resume_vm(self, ctx: ActionContext, params: VmParams) -> VmPower:
        """Power a suspended VM back on (``POST .../power?action=start``)."""
        return await self._power(ctx, params.vm, "start")

    @action("test connectivity")
    async def test_connectivity(self, ctx: ActionContext, params: NoParams) -> VcenterStatus:
        """Create a session and list the VMs the account sees."""
        async with self._session(ctx) as api:
            vms = await api.get_json("/api/vcenter/vm")
        return VcenterStatus(ok=True, vms=len(vms) if isinstance(vms, list) else 0)
