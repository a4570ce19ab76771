"""A fake Proxmox VE API, after Proxmox's published API documentation.

Follows the Proxmox VE API viewer (pve.proxmox.com/pve-docs/api-viewer: ``/version``,
``/cluster/resources``, ``/nodes/{node}/qemu/{vmid}/status/current|suspend|resume``,
``/nodes/{node}/tasks/{upid}/status``) and the Proxmox VE administration guide's "User
Management — API Tokens" (pve-docs pveum.adoc: ``Authorization: PVEAPIToken=USER@REALM!
TOKENID=UUID``). Every answer is ``{"data": ...}``; a power change answers a UPID task id,
whose status is ``running`` and then ``stopped`` with ``exitstatus`` ``OK``; a bad token is
401 (``authentication failure``), a missing privilege 403 (``Permission check failed``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from connectors.tests.fakes._serve import Faults, with_faults

TOKEN = "rampart@pve!soar=5f1c2a7e-3b9d-4c1e-9a1f-0d2e4b6c8a10"


@dataclass
class Proxmox:
    tokens: dict[str, set[str]] = field(
        default_factory=lambda: {TOKEN: {"VM.PowerMgmt", "VM.Audit"}}
    )
    vms: dict[int, dict[str, Any]] = field(
        default_factory=lambda: {
            100: {"name": "web-01", "node": "pve1", "status": "running", "qmpstatus": "running"},
            101: {"name": "db-01", "node": "pve2", "status": "stopped", "qmpstatus": "stopped"},
        }
    )
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    task_polls: int = 1
    faults: Faults = field(default_factory=Faults)


def make_app(pve: Proxmox) -> Any:
    def denied(request: Request, privilege: str = "VM.Audit") -> Response | None:
        header = request.headers.get("authorization", "")
        privileges = pve.tokens.get(header.removeprefix("PVEAPIToken="))
        if not header.startswith("PVEAPIToken=") or privileges is None:
            return JSONResponse({"data": None, "message": "authentication failure\n"}, 401)
        if privilege not in privileges:
            return JSONResponse(
                {"data": None, "message": f"Permission check failed (/vms, {privilege})\n"}, 403
            )
        return None

    async def version(request: Request) -> Response:
        return denied(request) or JSONResponse(
            {"data": {"version": "8.2.4", "release": "8.2", "repoid": "faa83925c9641325"}}
        )

    async def resources(request: Request) -> Response:
        return denied(request) or JSONResponse(
            {
                "data": [
                    {
                        "id": f"qemu/{vmid}",
                        "type": "qemu",
                        "vmid": vmid,
                        "name": vm["name"],
                        "node": vm["node"],
                        "status": vm["status"],
                    }
                    for vmid, vm in pve.vms.items()
                ]
            }
        )

    async def status(request: Request) -> Response:
        verb = request.path_params["verb"]
        refused = denied(request, "VM.Audit" if verb == "current" else "VM.PowerMgmt")
        if refused:
            return refused
        vmid, node = int(request.path_params["vmid"]), request.path_params["node"]
        vm = pve.vms.get(vmid)
        if vm is None or vm["node"] != node:
            return JSONResponse(
                {
                    "data": None,
                    "message": f"Configuration file 'nodes/{node}/qemu-server/"
                    f"{vmid}.conf' does not exist\n",
                },
                500,
            )
        if verb == "current":
            return JSONResponse({"data": {"vmid": vmid, "name": vm["name"], **vm}})
        if vm["status"] != "running":
            return JSONResponse({"data": None, "message": f"VM {vmid} not running\n"}, 500)
        serial = f"0000{len(pve.tasks):04X}"
        upid = f"UPID:{node}:{serial}:00A1B2C3:66A0B1C2:qm{verb}:{vmid}:rampart@pve!soar:"
        pve.tasks[upid] = {"polls": pve.task_polls, "vmid": vmid, "verb": verb}
        return JSONResponse({"data": upid})

    async def task(request: Request) -> Response:
        refused = denied(request)
        if refused:
            return refused
        t = pve.tasks.get(request.path_params["upid"])
        if t is None:
            return JSONResponse({"data": None, "message": "no such task\n"}, 500)
        if t["polls"] > 0:
            t["polls"] -= 1
            return JSONResponse(
                {"data": {"status": "running", "upid": request.path_params["upid"]}}
            )
        pve.vms[t["vmid"]]["qmpstatus"] = "paused" if t["verb"] == "suspend" else "running"
        return JSONResponse({"data": {"status": "stopped", "exitstatus": "OK"}})

    app = Starlette(
        routes=[
            Route("/api2/json/version", version),
            Route("/api2/json/cluster/resources", resources),
            Route(
                "/api2/json/nodes/{node}/qemu/{vmid:int}/status/{verb}",
                status,
                methods=["GET", "POST"],
            ),
            Route("/api2/json/nodes/{node}/tasks/{upid}/status", task),
        ]
    )
    return with_faults(app, pve.faults)
