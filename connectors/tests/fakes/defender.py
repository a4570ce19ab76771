"""A fake Microsoft Defender for Endpoint API and its Entra ID token endpoint.

Follows Microsoft Learn's Defender for Endpoint API reference (learn.microsoft.com/
defender-endpoint/api/): "Isolate machine API" (``POST /api/machines/{id}/isolate`` with
``Comment`` and ``IsolationType``, 201 MachineAction), "Release device from isolation"
(``unisolate``), "Stop and quarantine file API" (``StopAndQuarantineFile`` with ``Sha1``),
"Run live response commands on a device" (``runliveresponse``; ``GET /api/machineactions/
{id}``; ``GetLiveResponseResultDownloadLink(index=0)``), "List machines API" (OData
``$filter``, ``value`` and ``@odata.nextLink``) and "Advanced hunting API" (``POST
/api/advancedqueries/run`` → ``Schema`` and ``Results``; 429 on quota). Errors are
``{"error": {"code", "message", "target"}}``. The token endpoint answers as the Microsoft
identity platform's client credentials flow does (``access_token``, ``expires_in``; 401
``invalid_client`` with an ``AADSTS7000215`` ``error_description``).
"""

from __future__ import annotations

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

TENANT, CLIENT_ID, CLIENT_SECRET = "contoso.example", "mde-app-1", "mde-secret-0123456789"
MACHINE = "1e5bc9d7e413ddd7902c2932e418702b84d0cc07"


@dataclass
class Defender:
    machines: dict[str, dict[str, Any]] = field(
        default_factory=lambda: {
            MACHINE: {
                "id": MACHINE,
                "computerDnsName": "web-01.contoso.example",
                "lastIpAddress": "10.0.0.5",
                "isolated": False,
            },
            **{
                f"{i:040x}": {
                    "id": f"{i:040x}",
                    "computerDnsName": f"pc-{i}.contoso.example",
                    "lastIpAddress": f"10.1.0.{i}",
                    "isolated": False,
                }
                for i in range(1, 8)
            },
        }
    )
    page_size: int = 3
    tokens: set[str] = field(default_factory=set)
    actions: dict[str, dict[str, Any]] = field(default_factory=dict)
    action_polls: int = 1
    network_events: list[dict[str, Any]] = field(default_factory=list)
    queries: list[str] = field(default_factory=list)
    faults: Faults = field(default_factory=Faults)
    base_url: str = "https://mde.example"


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message, "target": str(uuid.uuid4())}}, status
    )


def make_app(d: Defender) -> Any:
    def denied(request: Request) -> Response | None:
        if request.headers.get("authorization", "").removeprefix("Bearer ") not in d.tokens:
            return _error(401, "Unauthorized", "Authorization token is missing or invalid")
        return None

    async def token(request: Request) -> Response:
        form = await form_of(request)
        if request.path_params["tenant"] != TENANT:
            return JSONResponse(
                {"error": "invalid_request", "error_description": "AADSTS90002: Tenant not found."},
                400,
            )
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return JSONResponse(
                {
                    "error": "invalid_client",
                    "error_description": "AADSTS7000215: Invalid client secret provided.",
                },
                401,
            )
        if form.get("scope") != "https://api.securitycenter.microsoft.com/.default":
            return JSONResponse({"error": "invalid_scope", "error_description": "bad scope"}, 400)
        value = secrets.token_urlsafe(32)
        d.tokens.add(value)
        return JSONResponse({"token_type": "Bearer", "expires_in": 3599, "access_token": value})

    async def machines(request: Request) -> Response:
        if refused := denied(request):
            return refused
        rows = list(d.machines.values())
        match = re.fullmatch(r"(\w+) eq '([^']*)'", request.query_params.get("$filter", ""))
        if match:
            rows = [m for m in rows if str(m.get(match.group(1), "")).lower() == match.group(2)]
        skip = int(request.query_params.get("$skip", 0))
        top = min(int(request.query_params.get("$top", d.page_size)), d.page_size)
        body: dict[str, Any] = {
            "@odata.context": f"{d.base_url}/api/$metadata#Machines",
            "value": [
                {k: v for k, v in m.items() if k != "isolated"} for m in rows[skip : skip + top]
            ],
        }
        if skip + top < len(rows) and "$top" not in request.query_params:
            query = f"$skip={skip + top}"
            if match:
                query += f"&$filter={request.query_params['$filter']}"
            body["@odata.nextLink"] = f"{d.base_url}/api/machines?{query}"
        return JSONResponse(body)

    def new_action(kind: str, machine: str, **extra: Any) -> JSONResponse:
        action_id = str(uuid.uuid4())
        d.actions[action_id] = {
            "id": action_id,
            "type": kind,
            "machineId": machine,
            "status": "Pending",
            "polls": d.action_polls,
            **extra,
        }
        shown = {k: v for k, v in d.actions[action_id].items() if k not in ("polls", "result")}
        return JSONResponse(shown, 201)

    async def machine_action(request: Request) -> Response:
        if refused := denied(request):
            return refused
        machine, verb = request.path_params["id"], request.path_params["verb"]
        if machine not in d.machines:
            return _error(404, "ResourceNotFound", f"Machine {machine} was not found")
        body = await request.json()
        if not body.get("Comment"):
            return _error(400, "InvalidRequestBody", "Comment is required")
        if verb == "isolate":
            if d.machines[machine]["isolated"]:
                return _error(400, "ActiveRequestAlreadyExists", "Machine is already isolated")
            d.machines[machine]["isolated"] = True
            return new_action("Isolate", machine)
        if verb == "unisolate":
            d.machines[machine]["isolated"] = False
            return new_action("Unisolate", machine)
        if verb == "StopAndQuarantineFile":
            if not re.fullmatch(r"[0-9a-f]{40}", body.get("Sha1", "")):
                return _error(400, "InvalidRequestBody", "Sha1 is invalid")
            return new_action("StopAndQuarantineFile", machine, sha1=body["Sha1"])
        if verb == "runliveresponse":
            [command] = body["Commands"]
            params = {p["key"]: p["value"] for p in command["params"]}
            result = {
                "script_name": params["ScriptName"],
                "exit_code": 0,
                "script_output": f"ran {params['ScriptName']} {params.get('Args', '')}".strip(),
                "script_errors": "",
            }
            return new_action("LiveResponse", machine, result=result)
        return _error(404, "ResourceNotFound", "no such action")

    async def action_state(request: Request) -> Response:
        if refused := denied(request):
            return refused
        state = d.actions.get(request.path_params["id"])
        if state is None:
            return _error(404, "ResourceNotFound", "action not found")
        if state["polls"] > 0:
            state["polls"] -= 1
            state["status"] = "InProgress"
        else:
            state["status"] = "Succeeded"
        return JSONResponse({k: v for k, v in state.items() if k not in ("polls", "result")})

    async def download_link(request: Request) -> Response:
        if refused := denied(request):
            return refused
        state = d.actions.get(request.path_params["id"])
        if state is None or state["status"] != "Succeeded":
            return _error(400, "InvalidRequest", "the action has not succeeded")
        signature = secrets.token_hex(8)
        state["signature"] = signature
        return JSONResponse({"value": f"{d.base_url}/storage/{state['id']}.json?sig={signature}"})

    async def storage(request: Request) -> Response:
        if request.headers.get("authorization"):
            return Response("storage takes no bearer token", 400)
        state = d.actions.get(request.path_params["id"])
        if state is None or request.query_params.get("sig") != state.get("signature"):
            return Response("AuthenticationFailed", 403)
        return JSONResponse(state["result"])

    async def hunting(request: Request) -> Response:
        if refused := denied(request):
            return refused
        query = (await request.json()).get("Query", "")
        d.queries.append(query)
        match = re.search(r"RemoteIP == '([^']+)'.*top (\d+)", query)
        if match is None:
            return _error(400, "BadRequest", "Query is invalid")
        by_device: dict[str, dict[str, Any]] = {}
        for event in d.network_events:
            if event["RemoteIP"] == match.group(1):
                row = by_device.setdefault(
                    event["DeviceId"],
                    {
                        "DeviceId": event["DeviceId"],
                        "DeviceName": event["DeviceName"],
                        "Connections": 0,
                        "LastSeen": event["Timestamp"],
                    },
                )
                row["Connections"] += 1
                row["LastSeen"] = max(row["LastSeen"], event["Timestamp"])
        rows = sorted(by_device.values(), key=lambda r: r["LastSeen"], reverse=True)
        return JSONResponse(
            {
                "Schema": [
                    {"Name": "DeviceId", "Type": "String"},
                    {"Name": "DeviceName", "Type": "String"},
                    {"Name": "Connections", "Type": "Int64"},
                    {"Name": "LastSeen", "Type": "DateTime"},
                ],
                "Results": rows[: int(match.group(2))],
            }
        )

    app = Starlette(
        routes=[
            Route("/{tenant}/oauth2/v2.0/token", token, methods=["POST"]),
            Route("/api/machines", machines),
            Route("/api/machines/{id}/{verb}", machine_action, methods=["POST"]),
            Route(
                "/api/machineactions/{id}/GetLiveResponseResultDownloadLink(index=0)", download_link
            ),
            Route("/api/machineactions/{id}", action_state),
            Route("/api/advancedqueries/run", hunting, methods=["POST"]),
            Route("/storage/{id}.json", storage),
        ]
    )
    return with_faults(app, d.faults)
