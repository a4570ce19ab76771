"""Calls of the Falcon API the connector makes: hosts, Real Time Response, custom IOCs.

Every answer is ``{"meta": ..., "resources": [...], "errors": [...]}``; lists page with
``offset``/``limit`` and ``meta.pagination.total``. A Real Time Response command is queued
in a session (``POST .../{kind}-command/v1``) and read back by its ``cloud_request_id``
until ``complete``; files a ``get`` collected are listed per session and downloaded as the
7z archive Falcon makes of them.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

from rampart.sdk.connector import ActionError, ProductClient, TargetUnavailable, check_answer

_AID = re.compile(r"^[0-9a-f]{32}$")
_HOST = re.compile(r"^[A-Za-z0-9._:-]{1,255}$")
_IP = re.compile(r"^[0-9.]+$|^[0-9a-fA-F:]+:[0-9a-fA-F:.]*$")
RTR = "/real-time-response/entities"


def resources(body: Any) -> list[Any]:
    """The ``resources`` of an answer."""
    found = body.get("resources") if isinstance(body, dict) else None
    return list(found) if isinstance(found, list) else []


def next_offset(body: Any) -> dict[str, int] | None:
    """The next page's ``offset`` from ``meta.pagination``, or None at the end."""
    page = (body or {}).get("meta", {}).get("pagination") or {}
    offset, total = int(page.get("offset") or 0), int(page.get("total") or 0)
    got = len(resources(body))
    return {"offset": offset + got} if got and offset + got < total else None


async def device_id(api: ProductClient, host: str) -> str:
    """The agent id (AID) of a host given by AID, host name or local address."""
    if _AID.match(host.lower()):
        return host.lower()
    if not _HOST.match(host):
        raise ActionError("a Falcon host is an AID, a host name or an address")
    field = "local_ip" if _IP.match(host) else "hostname"
    body = await api.get_json(
        "/devices/queries/devices/v1", params={"filter": f"{field}:'{host}'", "limit": 2}
    )
    ids = resources(body)
    if not ids:
        raise ActionError(f"Falcon knows no host {host!r}")
    if len(ids) > 1:
        raise ActionError(f"{host!r} names {len(ids)} Falcon hosts; give the AID")
    return str(ids[0])


class RtrSession:
    """One Real Time Response session on one host."""

    def __init__(self, api: ProductClient, session_id: str, *, timeout_s: float, poll_s: float):
        self.api, self.id = api, session_id
        self.timeout_s, self.poll_s = timeout_s, poll_s

    async def run(self, kind: str, command: str) -> str:
        """Run ``command`` (``kind``: command, active-responder-command, admin-command)."""
        path = f"{RTR}/{kind}/v1"
        base = command.split(" ", 1)[0]
        queued = resources(
            await self.api.json(
                "POST",
                path,
                json={"base_command": base, "command_string": command, "session_id": self.id},
            )
        )
        if not queued or "cloud_request_id" not in queued[0]:
            raise ActionError(f"Falcon did not queue {base!r}")
        request_id = queued[0]["cloud_request_id"]
        deadline = time.monotonic() + self.timeout_s
        while True:
            status = resources(
                await self.api.get_json(
                    path, params={"cloud_request_id": request_id, "sequence_id": 0}
                )
            )
            if status and status[0].get("complete"):
                if status[0].get("stderr"):
                    raise ActionError(f"Falcon {base!r} failed: {status[0]['stderr']}")
                return str(status[0].get("stdout") or "")
            if time.monotonic() >= deadline:
                raise ActionError(f"Falcon {base!r} did not complete in {self.timeout_s:g} s")
            await asyncio.sleep(self.poll_s)

    async def collected(self, name: str) -> dict[str, Any]:
        """Wait for the file a ``get`` of ``name`` collected; its listing entry."""
        deadline = time.monotonic() + self.timeout_s
        while True:
            files = resources(
                await self.api.get_json(f"{RTR}/file/v2", params={"session_id": self.id})
            )
            for entry in files:
                if entry.get("name") == name and entry.get("sha256"):
                    return dict(entry)
            if time.monotonic() >= deadline:
                raise ActionError(f"Falcon collected no file {name!r} in {self.timeout_s:g} s")
            await asyncio.sleep(self.poll_s)

    async def download(self, sha256: str, filename: str) -> AsyncIterator[bytes]:
        """The 7z archive of a collected file, streamed."""
        request = self.api.client.build_request(
            "GET",
            f"{RTR}/extracted-file-contents/v1",
            params={"session_id": self.id, "sha256": sha256, "filename": filename},
        )
        response = await self.api.client.send(request, stream=True)
        try:
            if response.status_code != 200:
                await response.aread()
                check_answer(request, response, redact=self.api.redact)
                raise ActionError(f"Falcon answered {response.status_code} for the file")
            async for chunk in response.aiter_bytes():
                yield chunk
        finally:
            await response.aclose()


@asynccontextmanager
async def rtr_session(
    api: ProductClient, aid: str, *, timeout_s: float, poll_s: float
) -> AsyncIterator[RtrSession]:
    """A session on the host, deleted when the block ends."""
    body = await api.json(
        "POST", f"{RTR}/sessions/v1", json={"device_id": aid, "queue_offline": False}
    )
    started = resources(body)
    if not started or "session_id" not in started[0]:
        raise ActionError("Falcon started no Real Time Response session")
    session = RtrSession(api, str(started[0]["session_id"]), timeout_s=timeout_s, poll_s=poll_s)
    try:
        yield session
    finally:
        with suppress(ActionError, TargetUnavailable):
            await api.request("DELETE", f"{RTR}/sessions/v1", params={"session_id": session.id})


def parse_ps(stdout: str) -> list[dict[str, Any]]:
    """``ps`` output (a table with ``Name`` and ``Id`` columns) as processes."""
    lines = [line for line in stdout.splitlines() if line.strip()]
    header = next((i for i, line in enumerate(lines) if re.search(r"\bId\b", line)), None)
    if header is None:
        return []
    columns = re.split(r"\s{2,}", lines[header].strip())
    out = []
    for line in lines[header + 1 :]:
        if set(line.strip()) <= {"-", " "}:
            continue
        row = dict(zip(columns, re.split(r"\s{2,}", line.strip()), strict=False))
        if row.get("Id", "").isdigit():
            out.append({"pid": int(row["Id"]), "name": row.get("Name", "")})
    return out
