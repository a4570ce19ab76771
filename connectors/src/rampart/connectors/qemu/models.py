"""What the QEMU connector's actions return."""

from __future__ import annotations

from pydantic import BaseModel, Field


class VmStatus(BaseModel):
    """A virtual machine's run state as QEMU's ``query-status`` reports it."""

    vm: str
    status: str = Field(description="QEMU's RunState: running, paused, prelaunch, shutdown, ...")
    running: bool


class VmChange(BaseModel):
    """A virtual machine's state after suspend or resume, and whether this call changed it."""

    vm: str
    status: str
    running: bool
    changed: bool


class VmReachable(BaseModel):
    """One configured machine answered on its QMP socket."""

    vm: str
    qemu_version: str
    status: str


class Connectivity(BaseModel):
    """Every configured machine answered."""

    vms: list[VmReachable]
