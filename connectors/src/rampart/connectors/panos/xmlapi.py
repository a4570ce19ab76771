"""The PAN-OS XML API: ``/api/`` requests by type, answers in ``<response status=...>``.

Every request is a form POST (the key travels in the ``X-PAN-KEY`` header, never in a URL).
An answer's ``status`` attribute is ``success`` or ``error`` with a numeric ``code``; a
``delete`` of an object that is not there answers success with code 7, so removing is
idempotent. A commit is asynchronous: it answers a job id, and ``show jobs id`` reports the
job until its status is ``FIN`` with a result of ``OK`` or ``FAIL``.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree

from pydantic import SecretStr

from rampart.sdk.connector import ActionError, ProductClient, TargetUnavailable

# Codes of the XML API reference: 22 is a timed-out session, 7 an object that is not present.
_BUSY_CODES = {"22"}
NOT_PRESENT = "7"


@dataclass(frozen=True, slots=True)
class Answer:
    """One parsed ``<response>``."""

    status: str
    code: str
    root: ElementTree.Element

    def text(self, path: str) -> str | None:
        """The stripped text at ``path`` under the response, if any."""
        found = self.root.find(path)
        return found.text.strip() if found is not None and found.text else None

    def words(self) -> str:
        """Every message line of the answer, joined."""
        lines = [
            (e.text or "").strip()
            for e in self.root.iter()
            if e.tag in ("msg", "line") and (e.text or "").strip()
        ]
        return "; ".join(lines) or "no message"


def parse(text: str) -> Answer:
    """Parse an XML API answer; anything else is the product failing to speak its API."""
    try:
        # The firewall was reached over verified TLS; expat bounds entity expansion.
        root = ElementTree.fromstring(text)  # noqa: S314
    except ElementTree.ParseError:
        raise ActionError("the firewall's answer is not XML") from None
    if root.tag != "response":
        raise ActionError(f"the firewall answered <{root.tag}>, not <response>")
    return Answer(root.get("status", ""), root.get("code", ""), root)


class XmlApi:
    """Typed calls of the XML API on one firewall."""

    def __init__(self, api: ProductClient) -> None:
        self.api = api

    async def call(self, **form: str) -> Answer:
        """POST one request; an ``error`` answer is an ActionError with the firewall's words."""
        response = await self.api.post("/api/", data=form)
        answer = parse(response.text)
        if answer.status != "success":
            words = self.api.redact(answer.words())
            reason = f"PAN-OS {form.get('type')} {form.get('action', '')}".rstrip()
            if answer.code in _BUSY_CODES:
                raise TargetUnavailable(f"{reason} failed (code {answer.code}): {words}")
            raise ActionError(f"{reason} failed (code {answer.code or '?'}): {words}")
        return answer

    async def config(self, action: str, xpath: str, element: str | None = None) -> Answer:
        """A ``type=config`` request: set, edit, delete or get at ``xpath``."""
        form = {"type": "config", "action": action, "xpath": xpath}
        if element is not None:
            form["element"] = element
        return await self.call(**form)

    async def op(self, cmd: str) -> Answer:
        """An operational command, e.g. ``<show><system><info/></system></show>``."""
        return await self.call(type="op", cmd=cmd)

    async def commit(self, *, timeout_s: float, poll_interval_s: float) -> tuple[str | None, str]:
        """Commit the candidate configuration and wait for the job: (job id, result)."""
        answer = await self.call(type="commit", cmd="<commit></commit>")
        job = answer.text("result/job")
        if job is None:
            return None, "no changes"
        deadline = time.monotonic() + timeout_s
        while True:
            status = await self.op(f"<show><jobs><id>{job}</id></jobs></show>")
            if status.text("result/job/status") == "FIN":
                result = status.text("result/job/result") or "?"
                if result != "OK":
                    details = status.words()
                    raise ActionError(f"PAN-OS commit job {job} ended {result}: {details}")
                return job, result
            if time.monotonic() >= deadline:
                raise ActionError(
                    f"PAN-OS commit job {job} did not finish within {timeout_s:g} s; "
                    "the change is in the candidate configuration and the job may still end"
                )
            await asyncio.sleep(poll_interval_s)


async def keygen(api: ProductClient, username: str, password: SecretStr) -> str:
    """An API key for an administrator (``type=keygen``), asked with a form POST."""
    response = await api.post(
        "/api/",
        data={"type": "keygen", "user": username, "password": password.get_secret_value()},
    )
    answer = parse(response.text)
    key = answer.text("result/key")
    if answer.status != "success" or not key:
        raise ActionError(f"PAN-OS keygen failed: {api.redact(answer.words())}")
    return key


def system_info(answer: Answer) -> dict[str, Any]:
    """The fields of ``show system info`` a connectivity check reports."""
    return {
        name: answer.text(f"result/system/{name}")
        for name in ("hostname", "model", "serial", "sw-version")
    }
