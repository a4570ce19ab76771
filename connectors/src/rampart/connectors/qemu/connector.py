"""The ``qemu`` connector: QEMU virtual machines driven through their QMP sockets.

``suspend vm`` is QMP ``stop`` (the guest's vCPUs stop; its memory, disks and network
connections stay, so ``resume vm``, QMP ``cont``, carries on where it stopped) and
``get vm status`` is ``query-status``. Both changes read the state first and again after,
so a repeated call reports ``changed: false`` and the result is QEMU's word, not an echo.
"""

from __future__ import annotations

from typing import Any

from rampart.connectors.qemu.config import QemuConfig
from rampart.connectors.qemu.models import Connectivity, VmChange, VmReachable, VmStatus
from rampart.connectors.qemu.qmp import QmpSession, open_qmp
from rampart.sdk.connector import (
    ActionContext,
    ActionError,
    Connector,
    NoParams,
    TargetUnavailable,
    VmParams,
    action,
)

VM_STATE = """<p class="rampart-vm"><strong>{{ result.vm }}</strong> is {{ result.status }}
{% if result.changed is defined %}{% if result.changed %}(changed by this action)
{% else %}(already so){% endif %}{% endif %}</p>"""


async def _status(session: QmpSession) -> tuple[str, bool]:
    answer: Any = await session.execute("query-status")
    if not isinstance(answer, dict) or "status" not in answer:
        raise ActionError("QMP query-status: an answer without a status")
    return str(answer["status"]), bool(answer.get("running"))


class QemuConnector(Connector[QemuConfig]):
    """Suspends, resumes and reports QEMU virtual machines over QMP."""

    name = "qemu"
    vendor = "QEMU"
    product = "QEMU/KVM"
    description = (
        "Pauses (QMP stop) and resumes (QMP cont) QEMU virtual machines and reports their "
        "run state (query-status), each machine reached on its own QMP socket."
    )
    config_model = QemuConfig

    def _address(self, vm: str) -> str:
        address = self.config.vms.get(vm)
        if address is None:
            known = ", ".join(sorted(self.config.vms)[:20])
            raise ActionError(f"no virtual machine {vm!r} on this asset (it has: {known})")
        return address

    async def _change(self, ctx: ActionContext, vm: str, *, run: bool) -> VmChange:
        async with open_qmp(self._address(vm), timeout_s=self.config.timeout_s) as session:
            _, running = await _status(session)
            changed = running != run
            if changed:
                ctx.log.info("changing a virtual machine's state", extra={"vm": vm, "run": run})
                await session.execute("cont" if run else "stop")
            status, running = await _status(session)
        if running != run:
            raise ActionError(f"{vm} is {status} after {'cont' if run else 'stop'}")
        return VmChange(vm=vm, status=status, running=running, changed=changed)

    @action("suspend vm", widget=VM_STATE)
    async def suspend_vm(self, ctx: ActionContext, params: VmParams) -> VmChange:
        """Pause the machine (QMP ``stop``)."""
        return await self._change(ctx, params.vm, run=False)

    @action("resume vm", widget=VM_STATE)
    async def resume_vm(self, ctx: ActionContext, params: VmParams) -> VmChange:
        """Let a paused machine run again (QMP ``cont``)."""
        return await self._change(ctx, params.vm, run=True)

    @action("get vm status", widget=VM_STATE)
    async def get_vm_status(self, ctx: ActionContext, params: VmParams) -> VmStatus:
        """The machine's run state (QMP ``query-status``)."""
        async with open_qmp(self._address(params.vm), timeout_s=self.config.timeout_s) as session:
            status, running = await _status(session)
        return VmStatus(vm=params.vm, status=status, running=running)

    @action("test connectivity")
    async def test_connectivity(self, ctx: ActionContext, params: NoParams) -> Connectivity:
        """Reach every configured machine's QMP socket; fails naming the ones that do not answer."""
        reached: list[VmReachable] = []
        failed: list[str] = []
        for vm, address in self.config.vms.items():
            try:
                async with open_qmp(address, timeout_s=self.config.timeout_s) as session:
                    status, _ = await _status(session)
                    reached.append(VmReachable(vm=vm, qemu_version=session.version, status=status))
            except (TargetUnavailable, ActionError) as exc:
                failed.append(f"{vm}: {exc}")
        if failed:
            raise TargetUnavailable("; ".join(failed[:10]))
        return Connectivity(vms=reached)
