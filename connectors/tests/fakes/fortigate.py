"""A fake FortiGate's REST API, after Fortinet's published FortiOS documentation.

Follows "FortiGate Administration Guide — Using APIs" (docs.fortinet.com/document/fortigate/
7.4.0/administration-guide/940602: token-based authentication, ``Authorization: Bearer``)
and the FortiOS REST API reference for ``/api/v2/cmdb/firewall/address`` (``address6``),
``/api/v2/cmdb/firewall/addrgrp`` (``addrgrp6``) and ``/api/v2/monitor/system/status``:
answers carry ``http_method``, ``results``, ``vdom``, ``status`` and ``http_status``; an
absent object is 404; a duplicate ``POST`` is an error (``error: -5``, answered 500 as
FortiOS does); a missing or wrong token is 401; an address still in a group cannot be deleted
(``error: -23``, 500). An ``address`` is a subnet or, with ``type: fqdn``, a domain in ``fqdn``
("FQDN Addresses", FortiOS Handbook,
https://help.fortinet.com/fos50hlp/56/Content/FortiOS/fortigate-firewall/Object%20Configuration/Addresses/FQDN%20Addresses.htm:
no wildcards in an FQDN object); a name longer than 79 characters or an FQDN object without a
valid domain is refused (``error: -651``, 500, FortiOS's "input value is invalid").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from connectors.tests.fakes._serve import Faults, with_faults


@dataclass
class Fortigate:
    tokens: set[str] = field(default_factory=lambda: {"fgt-token-0123456789"})
    objects: dict[str, dict[str, dict[str, Any]]] = field(
        default_factory=lambda: {"address": {}, "address6": {}, "addrgrp": {}, "addrgrp6": {}}
    )
    faults: Faults = field(default_factory=Faults)
    vdoms: set[str] = field(default_factory=lambda: {"root"})


def _answer(method: str, path: str, name: str, status: int, **extra: Any) -> JSONResponse:
    body = {
        "http_method": method,
        "vdom": "root",
        "path": path,
        "name": name,
        "status": "success" if status < 400 else "error",
        "http_status": status,
        "serial": "FGVM01TM00000000",
        "version": "v7.4.3",
        "build": 2573,
        **extra,
    }
    return JSONResponse(body, status)


def _valid_address(body: dict[str, Any]) -> bool:
    if body.get("type", "ipmask") == "fqdn":
        domain = body.get("fqdn", "")
        return (
            bool(re.fullmatch(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+", domain)) and "subnet" not in body
        )
    return "subnet" in body


def make_app(fgt: Fortigate) -> Any:
    async def cmdb(request: Request) -> Response:
        if request.headers.get("authorization", "").removeprefix("Bearer ") not in fgt.tokens:
            return Response(status_code=401)
        kind, key = request.path_params["kind"], request.path_params.get("key")
        if kind not in fgt.objects:
            return _answer(request.method, "firewall", kind, 404)
        if request.query_params.get("vdom", "root") not in fgt.vdoms:
            return _answer(request.method, "firewall", kind, 424, error=-3)
        table, method = fgt.objects[kind], request.method
        if method == "GET":
            if key is None:
                return _answer(method, "firewall", kind, 200, results=list(table.values()))
            if key not in table:
                return _answer(method, "firewall", kind, 404, mkey=key)
            return _answer(method, "firewall", kind, 200, results=[table[key]], mkey=key)
        body = await request.json() if method in ("POST", "PUT") else {}
        if method == "POST":
            if body["name"] in table:
                return _answer(method, "firewall", kind, 500, error=-5, mkey=body["name"])
            if len(body["name"]) > 79 or (kind == "address" and not _valid_address(body)):
                return _answer(method, "firewall", kind, 500, error=-651, mkey=body["name"])
            for member in body.get("member", []):
                if member["name"] not in fgt.objects["address" + kind[len("addrgrp") :]]:
                    return _answer(method, "firewall", kind, 500, error=-3)
            table[body["name"]] = {"q_origin_key": body["name"], "member": [], **body}
            return _answer(method, "firewall", kind, 200, mkey=body["name"])
        if key not in table:
            return _answer(method, "firewall", kind, 404, mkey=key)
        if method == "PUT":
            table[key].update(body)
            return _answer(method, "firewall", kind, 200, mkey=key)
        in_use = any(
            key in [m["name"] for m in g.get("member", [])]
            for group in ("addrgrp", "addrgrp6")
            for g in fgt.objects[group].values()
        )
        if in_use:
            return _answer(method, "firewall", kind, 500, error=-23, mkey=key)
        del table[key]
        return _answer(method, "firewall", kind, 200, mkey=key)

    async def status(request: Request) -> Response:
        if request.headers.get("authorization", "").removeprefix("Bearer ") not in fgt.tokens:
            return Response(status_code=401)
        return _answer(
            "GET",
            "system",
            "status",
            200,
            results={"model_name": "FortiGate", "model": "FGVM64", "hostname": "fgt-fake"},
        )

    app = Starlette(
        routes=[
            Route("/api/v2/cmdb/firewall/{kind}", cmdb, methods=["GET", "POST"]),
            Route("/api/v2/cmdb/firewall/{kind}/{key}", cmdb, methods=["GET", "PUT", "DELETE"]),
            Route("/api/v2/monitor/system/status", status),
        ]
    )
    return with_faults(app, fgt.faults)
