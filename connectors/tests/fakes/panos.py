"""A fake PAN-OS firewall's XML API (``/api/``), after Palo Alto Networks' published guide.

Follows "PAN-OS and Panorama API Usage Guide" (docs.paloaltonetworks.com/pan-os/11-1/
pan-os-panorama-api): "Get Your API Key" (``type=keygen``; the key in the ``X-PAN-KEY``
header or ``key=``), "API Authentication and Security", "Structure of a PAN-OS XML API
Request" (``type``/``action``/``xpath``/``element``, GET or POST) and "Asynchronous and
Synchronous Requests to the PAN-OS XML API" (a commit answers a job id; ``show jobs id``
reports ``ACT`` then ``FIN`` with result ``OK``/``FAIL``). Answers are ``<response
status="success|error" code="...">``; a wrong key is HTTP 403 with ``Invalid Credential``;
deleting an absent object answers success with code 7. The candidate configuration is kept
as data (address objects, address-group members, URL category entries); a commit copies it
to the running configuration.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from xml.etree import ElementTree

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from connectors.tests.fakes._serve import Faults, form_of, with_faults

VSYS = r"/config/devices/entry\[@name='localhost\.localdomain'\]/vsys/entry\[@name='(vsys\d+)'\]"


@dataclass
class Config:
    addresses: dict[str, str] = field(default_factory=dict)
    groups: dict[str, list[str]] = field(default_factory=dict)
    url_categories: dict[str, list[str]] = field(default_factory=dict)

    def copy(self) -> Config:
        return Config(
            dict(self.addresses),
            {k: list(v) for k, v in self.groups.items()},
            {k: list(v) for k, v in self.url_categories.items()},
        )


@dataclass
class Firewall:
    """The fake's state: administrators, keys, candidate and running configuration, jobs."""

    admins: dict[str, str] = field(default_factory=lambda: {"api-admin": "pa55word!"})
    keys: dict[str, str] = field(default_factory=dict)
    candidate: Config = field(default_factory=Config)
    running: Config = field(default_factory=Config)
    jobs: dict[str, int] = field(default_factory=dict)  # job id -> polls left before FIN
    job_polls: int = 1
    commit_fails: bool = False
    faults: Faults = field(default_factory=Faults)
    dirty: bool = False

    def issue_key(self, user: str = "api-admin") -> str:
        key = "LUFRPT" + secrets.token_urlsafe(24)
        self.keys[key] = user
        return key


def _xml(status: str, inner: str = "", code: str | None = None, http: int = 200) -> Response:
    code_attr = f' code="{code}"' if code else ""
    body = f'<response status="{status}"{code_attr}>{inner}</response>'
    return Response(body, http, media_type="application/xml")


def _error(message: str, code: str, http: int = 200) -> Response:
    return _xml("error", f"<msg><line>{message}</line></msg>", code, http)


def _members(element: str, tag: str = "member") -> list[str]:
    root = ElementTree.fromstring(f"<x>{element}</x>")  # noqa: S314
    return [(e.text or "").strip() for e in root.iter(tag)]


def make_app(fw: Firewall) -> Starlette:
    async def api(request: Request) -> Response:
        form = await form_of(request)
        kind = form.get("type")
        if kind == "keygen":
            if fw.admins.get(form.get("user", "")) != form.get("password"):
                return _xml("error", "<result><msg>Invalid Credentials.</msg></result>", "403", 403)
            return _xml("success", f"<result><key>{fw.issue_key(form['user'])}</key></result>")
        key = request.headers.get("x-pan-key") or form.get("key")
        if key not in fw.keys:
            return _xml("error", "<result><msg>Invalid Credential</msg></result>", "403", 403)
        if kind == "config":
            return config(form)
        if kind == "commit":
            if not fw.dirty:
                return _xml("success", "<msg>There are no changes to commit.</msg>", "19")
            job = str(len(fw.jobs) + 1)
            fw.jobs[job] = fw.job_polls
            if not fw.commit_fails:
                fw.running = fw.candidate.copy()
                fw.dirty = False
            return _xml(
                "success",
                f"<result><msg><line>Commit job enqueued with jobid {job}</line></msg>"
                f"<job>{job}</job></result>",
                "19",
            )
        if kind == "op":
            return op(form.get("cmd", ""))
        return _error("Invalid request type", "400", 400)

    def op(cmd: str) -> Response:
        if cmd == "<show><system><info></info></system></show>":
            return _xml(
                "success",
                "<result><system><hostname>pa-fake</hostname><model>PA-VM</model>"
                "<serial>007200001234</serial><sw-version>11.1.2</sw-version></system></result>",
            )
        job = re.fullmatch(r"<show><jobs><id>(\d+)</id></jobs></show>", cmd)
        if job:
            left = fw.jobs.get(job.group(1))
            if left is None:
                return _error("job not found", "12")
            if left > 0:
                fw.jobs[job.group(1)] = left - 1
                state, result = "ACT", "PEND"
            else:
                state, result = "FIN", "FAIL" if fw.commit_fails else "OK"
            details = "<details><line>Configuration committed successfully</line></details>"
            if fw.commit_fails:
                details = "<details><line>rule 'block' references an unknown group</line></details>"
            return _xml(
                "success",
                f"<result><job><id>{job.group(1)}</id><type>Commit</type>"
                f"<status>{state}</status><result>{result}</result>{details}</job></result>",
            )
        return _error("Unknown command", "1")

    def config(form: dict[str, str]) -> Response:
        action, xpath = form.get("action"), form.get("xpath", "")
        base = re.match(VSYS, xpath)
        if base is None:
            return _error("Unknown xpath", "6")
        rest, c = xpath[base.end() :], fw.candidate
        address = re.fullmatch(r"/address/entry\[@name='([^']+)'\]", rest)
        group = re.fullmatch(r"/address-group/entry\[@name='([^']+)'\]/static", rest)
        group_member = re.fullmatch(
            r"/address-group/entry\[@name='([^']+)'\]/static/member\[text\(\)='([^']+)'\]", rest
        )
        category = re.fullmatch(r"/profiles/custom-url-category/entry\[@name='([^']+)'\]", rest)
        category_member = re.fullmatch(
            r"/profiles/custom-url-category/entry\[@name='([^']+)'\]/list"
            r"/member\[text\(\)='([^']+)'\]",
            rest,
        )
        element = form.get("element", "")
        if action == "set" and address:
            [netmask] = _members(element, "ip-netmask")
            c.addresses[address.group(1)] = netmask
        elif action == "set" and group:
            for member in _members(element):
                if member not in c.addresses:
                    return _error(f"{member} is not a valid reference", "12")
                if member not in c.groups.setdefault(group.group(1), []):
                    c.groups[group.group(1)].append(member)
        elif action == "set" and category:
            entries = c.url_categories.setdefault(category.group(1), [])
            for member in _members(element):
                if member not in entries:
                    entries.append(member)
        elif action == "delete" and group_member:
            members = c.groups.get(group_member.group(1), [])
            if group_member.group(2) not in members:
                return _xml("success", "<msg>Object doesn't exist</msg>", "7")
            members.remove(group_member.group(2))
        elif action == "delete" and address:
            if any(address.group(1) in m for m in c.groups.values()):
                return _error(f"{address.group(1)} cannot be deleted: it is referenced", "13")
            if c.addresses.pop(address.group(1), None) is None:
                return _xml("success", "<msg>Object doesn't exist</msg>", "7")
        elif action == "delete" and category_member:
            entries = c.url_categories.get(category_member.group(1), [])
            value = category_member.group(2)
            if value not in entries:
                return _xml("success", "<msg>Object doesn't exist</msg>", "7")
            entries.remove(value)
        else:
            return _error("Invalid xpath or action", "6")
        fw.dirty = True
        return _xml("success", "<msg>command succeeded</msg>", "20")

    app = Starlette(routes=[Route("/api/", api, methods=["GET", "POST"])])
    return with_faults(app, fw.faults)  # type: ignore[return-value]
