"""A fake vCenter's vSphere Automation REST API, after Broadcom's published reference.

Follows "vSphere Automation API" (developer.broadcom.com/xapis/vsphere-automation-api/latest):
"Create Session" (``POST /api/session`` with HTTP basic, 201 with the session id as a JSON
string, used as ``vmware-api-session-id``; ``DELETE /api/session``), "List VM"
(``GET /api/vcenter/vm?names=``), "Get Vm Power" and "Vcenter Vm Power suspend / start"
(``POST /api/vcenter/vm/{vm}/power?action=suspend|start``: 204; 400 with
``error_type`` ``ALREADY_IN_DESIRED_STATE`` or ``NOT_ALLOWED_IN_CURRENT_STATE``; 401
``UNAUTHENTICATED``; 404 ``NOT_FOUND``). Errors carry ``messages[].default_message``.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from connectors.tests.fakes._serve import Faults, with_faults


@dataclass
class Vcenter:
    users: dict[str, str] = field(default_factory=lambda: {"rampart@vsphere.local": "Vc-pass1!"})
    sessions: set[str] = field(default_factory=set)
    vms: dict[str, dict[str, str]] = field(
        default_factory=lambda: {
            "vm-42": {"name": "web-01", "power_state": "POWERED_ON"},
            "vm-43": {"name": "db-01", "power_state": "POWERED_OFF"},
        }
    )
    faults: Faults = field(default_factory=Faults)


def _error(status: int, kind: str, message: str) -> JSONResponse:
    return JSONResponse(
        {
            "error_type": kind,
            "messages": [{"id": f"vapi.{kind.lower()}", "default_message": message, "args": []}],
        },
        status,
    )


def make_app(vc: Vcenter) -> Any:
    def authed(request: Request) -> bool:
        return request.headers.get("vmware-api-session-id") in vc.sessions

    async def session(request: Request) -> Response:
        if request.method == "DELETE":
            vc.sessions.discard(request.headers.get("vmware-api-session-id", ""))
            return Response(status_code=204)
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        user, _, password = base64.b64decode(encoded or "").decode().partition(":")
        if scheme.lower() != "basic" or vc.users.get(user) != password:
            return _error(401, "UNAUTHENTICATED", "Authentication required.")
        sid = secrets.token_hex(16)
        vc.sessions.add(sid)
        return JSONResponse(sid, 201)

    async def vms(request: Request) -> Response:
        if not authed(request):
            return _error(401, "UNAUTHENTICATED", "Authentication required.")
        names = request.query_params.getlist("names")
        return JSONResponse(
            [
                {"vm": vm, "name": v["name"], "power_state": v["power_state"]}
                for vm, v in vc.vms.items()
                if not names or v["name"] in names
            ]
        )

    async def power(request: Request) -> Response:
        if not authed(request):
            return _error(401, "UNAUTHENTICATED", "Authentication required.")
        vm = vc.vms.get(request.path_params["vm"])
        if vm is None:
            return _error(404, "NOT_FOUND", "Virtual machine not found.")
        if request.method == "GET":
            return JSONResponse({"state": vm["power_state"]})
        verb, state = request.query_params.get("action"), vm["power_state"]
        wanted = {"suspend": "SUSPENDED", "start": "POWERED_ON"}.get(verb or "")
        if wanted is None:
            return _error(400, "INVALID_ARGUMENT", f"unknown action {verb}")
        if state == wanted:
            return _error(400, "ALREADY_IN_DESIRED_STATE", f"Virtual machine is already {wanted}")
        if verb == "suspend" and state != "POWERED_ON":
            return _error(400, "NOT_ALLOWED_IN_CURRENT_STATE", "Virtual machine is powered off.")
        vm["power_state"] = wanted
        return Response(status_code=204)

    app = Starlette(
        routes=[
            Route("/api/session", session, methods=["POST", "DELETE"]),
            Route("/api/vcenter/vm", vms),
            Route("/api/vcenter/vm/{vm}/power", power, methods=["GET", "POST"]),
        ]
    )
    return with_faults(app, vc.faults)
