"""A fake CrowdStrike Falcon API, after CrowdStrike's published API reference.

Follows the Falcon API reference at developer.crowdstrike.com/api-reference: "OAuth2"
(``POST /oauth2/token`` with client_id/client_secret, 201 ``access_token``/``expires_in``;
403 "Failed to issue access token - Not Authorized"), "Hosts" (``/devices/queries/devices/v1``
with an FQL ``filter``, ``/devices/entities/devices/v2``, ``PerformActionV2``
``/devices/entities/devices-actions/v2?action_name=contain|lift_containment``, 202),
"Real Time Response" and "Real Time Response Admin" (``sessions/v1``, ``command/v1``,
``active-responder-command/v1``, ``admin-command/v1`` queued then polled by
``cloud_request_id``; ``file/v2``; ``extracted-file-contents/v1``), "IOC"
(``/iocs/queries/indicators/v1``, ``/iocs/entities/indicators/v1`` POST and DELETE) and
"Indicators" ``/indicators/queries/devices/v1``. Answers are ``{meta, resources, errors}``;
lists page by ``offset``/``limit`` with ``meta.pagination.total``; an unknown token is 401
"access denied, invalid bearer token".
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from connectors.tests.fakes._serve import Faults, form_of, with_faults

CLIENT_ID, CLIENT_SECRET = "cs-client-1", "cs-secret-0123456789abcdef"
AID = "4b1e9c0d2f3a4e5b8c7d6e5f4a3b2c1d"
PS_OUTPUT = """Name                 Id    Start Time (UTC-0)     Memory (MB)
----                 --    ------------------     -----------
svchost              880   2024-05-01T10:00:00Z   12.5
evil                 4242  2024-05-01T10:05:00Z   3.1
evil                 4243  2024-05-01T10:05:01Z   3.2
"""


@dataclass
class Falcon:
    hosts: dict[str, dict[str, Any]] = field(
        default_factory=lambda: {
            AID: {
                "device_id": AID,
                "hostname": "web-01",
                "local_ip": "10.0.0.5",
                "status": "normal",
            }
        }
    )
    tokens: set[str] = field(default_factory=set)
    token_requests: int = 0
    sessions: dict[str, str] = field(default_factory=dict)
    commands: list[str] = field(default_factory=list)
    pending: dict[str, dict[str, Any]] = field(default_factory=dict)
    files: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    processes: dict[int, str] = field(
        default_factory=lambda: {880: "svchost", 4242: "evil", 4243: "evil"}
    )
    iocs: dict[str, dict[str, Any]] = field(default_factory=dict)
    observed: dict[str, list[str]] = field(default_factory=dict)
    faults: Faults = field(default_factory=Faults)


def _body(resources: list[Any], status: int = 200, **meta: Any) -> JSONResponse:
    return JSONResponse(
        {
            "meta": {"query_time": 0.01, "trace_id": str(uuid.uuid4()), **meta},
            "resources": resources,
            "errors": [],
        },
        status,
    )


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse(
        {
            "meta": {"query_time": 0.0},
            "resources": [],
            "errors": [{"code": status, "message": message}],
        },
        status,
    )


def _page(items: list[str], request: Request) -> JSONResponse:
    offset = int(request.query_params.get("offset", 0))
    limit = int(request.query_params.get("limit", 100))
    return _body(
        items[offset : offset + limit],
        pagination={"offset": offset, "limit": limit, "total": len(items)},
    )


def make_app(f: Falcon) -> Any:
    def denied(request: Request) -> Response | None:
        if request.headers.get("authorization", "").removeprefix("Bearer ") not in f.tokens:
            return _error(401, "access denied, invalid bearer token")
        return None

    async def token(request: Request) -> Response:
        form = await form_of(request)
        f.token_requests += 1
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return _error(403, "Failed to issue access token - Not Authorized")
        value = secrets.token_urlsafe(32)
        f.tokens.add(value)
        return JSONResponse(
            {"access_token": value, "token_type": "bearer", "expires_in": 1799}, 201
        )

    async def query_devices(request: Request) -> Response:
        if refused := denied(request):
            return refused
        match = re.fullmatch(
            r"(hostname|local_ip):'([^']*)'", request.query_params.get("filter", "")
        )
        ids = [
            aid
            for aid, h in f.hosts.items()
            if match is None or h[match.group(1)] == match.group(2)
        ]
        return _page(ids, request)

    async def devices(request: Request) -> Response:
        if refused := denied(request):
            return refused
        ids = request.query_params.getlist("ids")
        return _body([f.hosts.get(i, {"device_id": i, "hostname": f"host-{i[:6]}"}) for i in ids])

    async def devices_actions(request: Request) -> Response:
        if refused := denied(request):
            return refused
        verb = request.query_params.get("action_name")
        ids = (await request.json()).get("ids", [])
        if verb not in ("contain", "lift_containment") or not all(i in f.hosts for i in ids):
            return _error(400, "invalid action or device id")
        for i in ids:
            f.hosts[i]["status"] = "contained" if verb == "contain" else "normal"
        return _body([{"id": i, "path": ""} for i in ids], 202)

    async def sessions(request: Request) -> Response:
        if refused := denied(request):
            return refused
        if request.method == "DELETE":
            f.sessions.pop(request.query_params.get("session_id", ""), None)
            return Response(status_code=204)
        aid = (await request.json()).get("device_id")
        if aid not in f.hosts:
            return _error(404, "Could not find device")
        sid = str(uuid.uuid4())
        f.sessions[sid] = aid
        return _body([{"session_id": sid, "scripts": []}], 201)

    def execute(sid: str, command: str) -> tuple[str, str]:
        base, _, arg = command.partition(" ")
        arg = arg.strip("'")
        if base == "ps":
            lines = PS_OUTPUT.splitlines()
            rows = lines[:2] + [r for r in lines[2:] if int(r.split()[1]) in f.processes]
            return "\n".join(rows) + "\n", ""
        if base == "kill":
            if f.processes.pop(int(arg), None) is None:
                return "", f"Process {arg} not found"
            return f"Process with PID {arg} killed", ""
        if base == "memdump":
            pid, path = arg.split(" ", 1)
            if int(pid) not in f.processes:
                return "", f"Process {pid} not found"
            f.files.setdefault(sid + ":disk", []).append({"name": path.strip("'"), "pid": pid})
            return f"Memory dump of {pid} written", ""
        if base == "get":
            content = f"7z-archive-of:{arg}".encode()
            f.files.setdefault(sid, []).append(
                {
                    "name": arg,
                    "sha256": hashlib.sha256(content).hexdigest(),
                    "size": len(content),
                    "content": content,
                    "cloud_request_id": str(uuid.uuid4()),
                }
            )
            return "", ""
        if base == "filehash":
            return f"Path: {arg}\nMD5: {'a' * 32}\nSHA256: {'c' * 64}\n", ""
        if base == "rm":
            return f"Removed {arg}", ""
        return "", f"unknown command {base}"

    async def command(request: Request) -> Response:
        if refused := denied(request):
            return refused
        kind = request.path_params["kind"]
        if request.method == "GET":
            state = f.pending.get(request.query_params.get("cloud_request_id", ""))
            if state is None:
                return _error(404, "no such request")
            if state["polls"] > 0:
                state["polls"] -= 1
                return _body([{"complete": False, "stdout": "", "stderr": ""}])
            return _body(
                [
                    {
                        "complete": True,
                        "stdout": state["stdout"],
                        "stderr": state["stderr"],
                        "base_command": state["base"],
                    }
                ]
            )
        body = await request.json()
        if body.get("session_id") not in f.sessions:
            return _error(404, "session not found")
        allowed = {
            "command": {"ps", "filehash"},
            "active-responder-command": {"ps", "get", "filehash", "kill", "rm"},
            "admin-command": {"ps", "get", "filehash", "kill", "rm", "memdump"},
        }[kind]
        if body.get("base_command") not in allowed:
            return _error(400, f"{body.get('base_command')} is not a {kind}")
        f.commands.append(body["command_string"])
        stdout, stderr = execute(body["session_id"], body["command_string"])
        request_id = str(uuid.uuid4())
        f.pending[request_id] = {
            "polls": 1,
            "stdout": stdout,
            "stderr": stderr,
            "base": body["base_command"],
        }
        return _body(
            [
                {
                    "cloud_request_id": request_id,
                    "session_id": body["session_id"],
                    "queued_command_offline": False,
                }
            ],
            201,
        )

    async def files(request: Request) -> Response:
        if refused := denied(request):
            return refused
        listed = f.files.get(request.query_params.get("session_id", ""), [])
        return _body([{k: v for k, v in e.items() if k != "content"} for e in listed])

    async def extracted(request: Request) -> Response:
        if refused := denied(request):
            return refused
        for entry in f.files.get(request.query_params.get("session_id", ""), []):
            if entry["sha256"] == request.query_params.get("sha256"):
                return Response(entry["content"], media_type="application/x-7z-compressed")
        return _error(404, "file not found")

    async def ioc_query(request: Request) -> Response:
        if refused := denied(request):
            return refused
        match = re.fullmatch(r"type:'(\w+)'\+value:'(\w+)'", request.query_params.get("filter", ""))
        ids = [
            i
            for i, ioc in f.iocs.items()
            if match and (ioc["type"], ioc["value"]) == match.groups()
        ]
        return _page(ids, request)

    async def ioc_entities(request: Request) -> Response:
        if refused := denied(request):
            return refused
        if request.method == "DELETE":
            for i in request.query_params.getlist("ids"):
                f.iocs.pop(i, None)
            return _body([])
        body = await request.json()
        made = []
        for ioc in body.get("indicators", []):
            if ioc.get("action") == "prevent" and ioc["type"] not in ("md5", "sha256"):
                return _error(400, f"action prevent is not valid for type {ioc['type']}")
            if any((o["type"], o["value"]) == (ioc["type"], ioc["value"]) for o in f.iocs.values()):
                return _error(
                    400, f"Duplicate type: '{ioc['type']}' and value: '{ioc['value']}' combination."
                )
            ioc_id = secrets.token_hex(32)
            f.iocs[ioc_id] = {"id": ioc_id, **ioc}
            made.append(f.iocs[ioc_id])
        return _body(made, 201)

    async def hunt(request: Request) -> Response:
        if refused := denied(request):
            return refused
        kind, value = request.query_params.get("type"), request.query_params.get("value", "")
        if kind not in ("md5", "sha256", "domain", "ipv4", "ipv6"):
            return _error(400, "invalid type")
        return _page(f.observed.get(value, []), request)

    app = Starlette(
        routes=[
            Route("/oauth2/token", token, methods=["POST"]),
            Route("/devices/queries/devices/v1", query_devices),
            Route("/devices/entities/devices/v2", devices),
            Route("/devices/entities/devices-actions/v2", devices_actions, methods=["POST"]),
            Route("/real-time-response/entities/sessions/v1", sessions, methods=["POST", "DELETE"]),
            Route("/real-time-response/entities/file/v2", files),
            Route("/real-time-response/entities/extracted-file-contents/v1", extracted),
            Route("/iocs/queries/indicators/v1", ioc_query),
            Route("/iocs/entities/indicators/v1", ioc_entities, methods=["POST", "DELETE"]),
            Route("/indicators/queries/devices/v1", hunt),
            Route("/real-time-response/entities/{kind}/v1", command, methods=["GET", "POST"]),
        ]
    )
    return with_faults(app, f.faults)
