"""The console over HTTP: sign-in, the session cookie, CSRF, and pages built from the APIs.

The console is served with the other five services (as in ``rampart run``) and reaches them
only through their public APIs, with the signed-in person's token.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from rampart.core.auth import Role
from tests.harness import ServiceHarness, StartServices


@pytest.fixture
async def console(start_services: StartServices) -> AsyncIterator[ServiceHarness]:
    async with start_services() as services:
        yield services


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


@asynccontextmanager
async def _signed_in(
    services: ServiceHarness, role: Role = Role.ANALYST
) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=services.url, timeout=30) as browser:
        form = await browser.get("/login")
        answer = await browser.post(
            "/login",
            data={"csrf": _csrf(form.text), "token": services.tokens[role], "next": "/events"},
        )
        assert answer.status_code == 303, answer.text
        assert answer.headers["location"] == "/events"
        yield browser


async def test_sign_in_sets_a_sealed_httponly_samesite_cookie(console: ServiceHarness) -> None:
    async with httpx.AsyncClient(base_url=console.url, timeout=30) as browser:
        page = await browser.get("/events")
        assert page.status_code == 303
        assert page.headers["location"].startswith("/login")
        form = await browser.get("/login")
        assert form.status_code == 200
        assert 'name="token"' in form.text
        assert "script-src 'self'" in form.headers["content-security-policy"]
        csrf = _csrf(form.text)
        token = console.tokens[Role.ANALYST]

        wrong = await browser.post("/login", data={"csrf": csrf, "token": "rpt_wrong"})
        assert wrong.status_code == 303
        follow = await browser.get(wrong.headers["location"])
        assert "not accepted" in follow.text

        forged = await browser.post("/login", data={"csrf": "guessed", "token": token})
        assert "rampart_session" not in forged.cookies
        assert "expired" in (await browser.get(forged.headers["location"])).text

        good = await browser.post("/login", data={"csrf": csrf, "token": token})
        assert good.status_code == 303
        cookie = next(
            c for c in good.headers.get_list("set-cookie") if c.startswith("rampart_session=")
        )
        assert "HttpOnly" in cookie
        assert "SameSite=strict" in cookie or "SameSite=Strict" in cookie
        assert token not in cookie  # sealed, not the token itself
        queue = await browser.get("/events")
        assert queue.status_code == 200
        assert "Event queue" in queue.text


async def test_a_revoked_token_sends_the_browser_to_sign_in(console: ServiceHarness) -> None:
    token = await console.token(Role.ANALYST, name=f"console-{uuid.uuid4().hex[:6]}")
    async with httpx.AsyncClient(base_url=console.url, timeout=30) as browser:
        form = await browser.get("/login")
        await browser.post("/login", data={"csrf": _csrf(form.text), "token": token})
        assert (await browser.get("/events")).status_code == 200
        async with console.client(Role.ADMIN) as admin:
            listed = (await admin.get("/api/v1/tokens")).json()
            mine = next(t for t in listed if t["name"].startswith("console-"))
            assert (await admin.delete(f"/api/v1/tokens/{mine['id']}")).status_code in (200, 204)

        async def refused() -> httpx.Response | None:
            page = await browser.get("/events")
            return page if page.status_code == 303 else None

        page = await console.eventually(refused)
        assert page.headers["location"].startswith("/login")
        shown = await browser.get(page.headers["location"])
        assert "no longer accepts your token" in shown.text


async def test_a_form_without_the_sessions_csrf_value_changes_nothing(
    console: ServiceHarness,
) -> None:
    async with console.client(Role.ANALYST) as api:
        made = await api.post("/api/v1/events", json={"name": "csrf probe", "source": "console"})
    event_id = made.json()["id"]
    async with _signed_in(console) as browser:
        forged = await browser.post(
            f"/events/{event_id}/close", data={"csrf": "x", "resolution": "forged"}
        )
        assert forged.status_code == 403
        async with console.client(Role.ANALYST) as api:
            assert (await api.get(f"/api/v1/events/{event_id}")).json()["status"] != "closed"

        page = await browser.get(f"/events/{event_id}")
        assert page.status_code == 200
        empty = await browser.post(
            f"/events/{event_id}/close", data={"csrf": _csrf(page.text), "resolution": ""}
        )
        assert empty.status_code == 422
        assert 'id="resolution-error"' in empty.text  # the API's problem beside the field
        closed = await browser.post(
            f"/events/{event_id}/close",
            data={"csrf": _csrf(page.text), "resolution": "benign scanner"},
        )
        assert closed.status_code == 303
        async with console.client(Role.ANALYST) as api:
            stored: dict[str, Any] = (await api.get(f"/api/v1/events/{event_id}")).json()
        assert (stored["status"], stored["resolution"]) == ("closed", "benign scanner")


async def _noop_action_on_an_event(
    console: ServiceHarness, action: str, params: dict[str, Any]
) -> str:
    """Run ``action`` by hand on a new noop asset, for a new event; the event's id, once done."""
    suffix = uuid.uuid4().hex[:6]
    async with console.client(Role.ADMIN) as admin:
        owner = (await admin.post("/api/v1/owners", json={"name": f"a-{suffix}"})).json()
        await admin.post(
            "/api/v1/assets",
            json={
                "name": f"a-{suffix}",
                "connector": "noop",
                "config": {},
                "primary_owners": [owner["id"]],
            },
        )
        event = (
            await admin.post("/api/v1/events", json={"name": action, "source": "console"})
        ).json()
        ran = await admin.post(
            "/api/v1/action-runs",
            json={
                "action": action,
                "target": {"asset": f"a-{suffix}"},
                "params": params,
                "event_id": event["id"],
            },
        )
        assert ran.status_code == 202, ran.text
        run_id = ran.json()["runs"][0]["id"]

        async def done() -> bool:
            run = (await admin.get(f"/api/v1/action-runs/{run_id}")).json()
            return run["status"] == "success"

        await console.eventually(done)
    return str(event["id"])


async def test_a_widget_from_product_data_renders_only_inside_a_sandboxed_frame(
    console: ServiceHarness,
) -> None:
    hostile = "<script>alert(1)</script>"
    event_id = await _noop_action_on_an_event(console, "run query", {"query": hostile})
    async with _signed_in(console) as browser:
        page = await browser.get(f"/events/{event_id}")
    assert page.status_code == 200
    frames = re.findall(r"<iframe[^>]*>", page.text)
    assert frames, "the action's widget is shown"
    assert all(re.search(r"\ssandbox[\s>]", f) for f in frames)
    assert "<script>alert(1)</script>" not in page.text


async def test_a_file_an_action_kept_downloads_from_the_event_page(console: ServiceHarness) -> None:
    event_id = await _noop_action_on_an_event(console, "get file", {"path": "/etc/hosts"})
    async with _signed_in(console) as browser:
        page = await browser.get(f"/events/{event_id}")
        assert page.status_code == 200
        kept = r'<a href="(/vault/[0-9a-f]{64})" download>get-file\.json</a>'
        [link] = re.findall(kept, page.text)
        file = await browser.get(link)
        unknown = await browser.get(f"/vault/{'0' * 64}")
    assert file.status_code == 200, file.text
    assert file.headers["content-disposition"] == "attachment; filename*=UTF-8''get-file.json"
    assert file.headers["x-content-type-options"] == "nosniff"
    assert json.loads(file.content)["params"]["path"] == "/etc/hosts"
    assert link == f"/vault/{hashlib.sha256(file.content).hexdigest()}"
    assert unknown.status_code == 404
    assert "no file with SHA-256" in unknown.text


TIMELINE = """
from rampart.sdk.playbook import playbook

@playbook(labels=["console-timeline"])
async def console_timeline(ctx, event):
    result = await ctx.act("lookup ip", asset=ASSET, ip="198.51.100.7")
    await ctx.add_note("looked up " + result.one().data[0]["params"]["ip"])
    return "done"
"""


async def test_the_event_page_shows_each_run_as_a_timeline_of_its_steps(
    console: ServiceHarness,
) -> None:
    """Each run on the event is shown step by step: what it did, how long it waited, the
    result — from the run's own timeline, not only its step count."""
    suffix = uuid.uuid4().hex[:6]
    asset = f"tl-{suffix}"
    async with console.client(Role.ADMIN) as admin:
        owner = (await admin.post("/api/v1/owners", json={"name": f"tl-{suffix}"})).json()
        made = await admin.post(
            "/api/v1/assets",
            json={
                "name": asset,
                "connector": "noop",
                "config": {},
                "primary_owners": [owner["id"]],
            },
        )
        assert made.status_code == 201, made.text
        source = TIMELINE.replace("ASSET", repr(asset))
        uploaded = await admin.post("/api/v1/playbooks", json={"source": source})
        assert uploaded.status_code == 201, uploaded.text
        event = (
            await admin.post(
                "/api/v1/events",
                json={"name": "timeline", "source": "console", "labels": ["console-timeline"]},
            )
        ).json()

        async def finished() -> dict[str, Any] | None:
            runs = (await admin.get("/api/v1/runs", params={"event_id": event["id"]})).json()
            return runs[0] if runs and runs[0]["status"] == "completed" else None

        run = await console.eventually(finished, timeout=60)
        detail = (await admin.get(f"/api/v1/runs/{run['id']}")).json()
    async with _signed_in(console) as browser:
        page = await browser.get(f"/events/{event['id']}")
    assert page.status_code == 200, page.text[:2000]
    timeline = re.search(r'<ol class="timeline">(.*?)</ol>', page.text, re.DOTALL)
    assert timeline, page.text[:3000]
    steps = re.findall(r"<li class=\"step-(\w+)\"><strong>(\d+)\. (\w+)</strong>", timeline[1])
    assert [(int(seq), kind) for _status, seq, kind in steps] == [
        (entry["seq"], entry["kind"]) for entry in detail["timeline"]
    ]
    assert len(steps) >= 2, detail["timeline"]
    assert "waited" in timeline[1]
    assert "198.51.100.7" in timeline[1]  # the action's result, shown with its step


async def test_the_queue_filters_searches_and_pages_with_a_cursor(console: ServiceHarness) -> None:
    suffix = uuid.uuid4().hex[:6]
    async with console.client(Role.ANALYST) as api:
        for n in range(51):  # one more than a page
            severity = "critical" if n == 7 else "low"
            made = await api.post(
                "/api/v1/events",
                json={"name": f"q{suffix} {n:02d}", "source": f"q-{suffix}", "severity": severity},
            )
            assert made.status_code == 202, made.text
        # recorded under the posting token: api:<token id>:<source>
        source = (await api.get(made.headers["location"])).json()["source"]

    def names(html: str) -> list[str]:
        return re.findall(rf">(q{suffix} \d\d)</a>", html)

    async with _signed_in(console) as browser:

        async def all_ingested() -> bool:
            async with console.client(Role.ANALYST) as api:
                page = await api.get("/api/v1/events", params={"source": source, "limit": 100})
            return len(page.json()["items"]) == 51

        await console.eventually(all_ingested)
        first = await browser.get("/events", params={"source": source})
        assert first.status_code == 200
        older = re.search(r'<a href="([^"]+)" rel="next">Older events</a>', first.text)
        assert older, "no link to the next page"
        second = await browser.get(older.group(1).replace("&amp;", "&"))
        assert second.status_code == 200
        assert 'rel="next"' not in second.text
        seen = names(first.text) + names(second.text)
        assert len(seen) == 51
        assert sorted(seen) == [f"q{suffix} {n:02d}" for n in range(51)]

        critical = await browser.get("/events", params={"source": source, "severity": "critical"})
        assert names(critical.text) == [f"q{suffix} 07"]
        found = await browser.get("/events", params={"q": f"q{suffix} 42"})
        assert names(found.text) == [f"q{suffix} 42"]

        bogus = await browser.get("/events", params={"severity": "apocalyptic"})
        assert 400 <= bogus.status_code < 500
        assert "severity" in bogus.text


BY_HAND = '''
from rampart.sdk.playbook import Context, Event, playbook


@playbook(labels=["never-on-its-own-SUFFIX"])
async def by_hand_SUFFIX(ctx: Context, event: Event) -> None:
    """Leave a note, when run by hand."""
    await ctx.add_note("ran by hand SUFFIX")
'''


async def test_notes_and_a_playbook_run_by_hand_from_the_event_page(
    console: ServiceHarness,
) -> None:
    suffix = uuid.uuid4().hex[:6]
    async with console.client(Role.ADMIN) as admin:
        uploaded = await admin.post(
            "/api/v1/playbooks", json={"source": BY_HAND.replace("SUFFIX", suffix)}
        )
        assert uploaded.status_code == 201, uploaded.text
    async with console.client(Role.ANALYST) as api:
        made = await api.post("/api/v1/events", json={"name": f"by hand {suffix}", "source": "c"})
    event_id = made.json()["id"]
    async with _signed_in(console) as browser:
        page = await browser.get(f"/events/{event_id}")
        csrf = _csrf(page.text)
        noted = await browser.post(
            f"/events/{event_id}/notes", data={"csrf": csrf, "text": f"seen from {suffix}"}
        )
        assert noted.status_code == 303
        assert f"seen from {suffix}" in (await browser.get(f"/events/{event_id}")).text

        unknown = await browser.post(
            f"/events/{event_id}/playbooks", data={"csrf": csrf, "playbook": f"none_{suffix}"}
        )
        assert 400 <= unknown.status_code < 500
        assert 'class="problem"' in unknown.text
        ran = await browser.post(
            f"/events/{event_id}/playbooks", data={"csrf": csrf, "playbook": f"by_hand_{suffix}"}
        )
        assert ran.status_code == 303, ran.text[:2000]

        async def noted_by_the_run() -> bool:
            shown = await browser.get(f"/events/{event_id}")
            return f"ran by hand {suffix}" in shown.text

        await console.eventually(noted_by_the_run, timeout=60)


GENERIC = {"mapping": {"name": "title", "severity": "level"}}


@pytest.mark.parametrize(
    ("kind", "auth"),
    [
        ("splunk", "hmac"),
        ("splunk", "bearer"),
        ("splunk", "url-token"),
        ("generic", "hmac"),
        ("sentinel", "hmac"),
        ("elastic", "bearer"),
        ("arcsight", "hmac"),
        ("qradar", "bearer"),
    ],
)
async def test_each_sources_copy_paste_example_is_accepted_by_ingest(
    console: ServiceHarness, kind: str, auth: str
) -> None:
    """The sources page's example, run as shown with the source's secret in SOURCE_SECRET,
    sends an event the real ingest accepts (and stores)."""
    import asyncio
    import html
    import os

    name = f"paste-{auth}-{uuid.uuid4().hex[:6]}"
    async with console.client(Role.ADMIN) as admin:
        fields = {
            "name": name,
            "kind": kind,
            "auth": auth,
            **(GENERIC if kind == "generic" else {}),
        }
        made = await admin.post("/api/v1/sources", json=fields)
        assert made.status_code == 201, made.text
        secret = made.json()["secret"]
    async with _signed_in(console, Role.ADMIN) as browser:
        page = await browser.get("/sources")
    assert page.status_code == 200
    article = re.search(rf"<h2>{re.escape(name)} .*?</article>", page.text, re.DOTALL)
    assert article, page.text[:3000]
    [example] = re.findall(r"<pre><code>(.*?)</code></pre>", article[0], re.DOTALL)
    # the services answer from this process's event loop: the shell must not block it
    shell = await asyncio.create_subprocess_exec(
        "bash",
        "-euo",
        "pipefail",
        "-c",
        html.unescape(example) + " -w '\\n%{http_code}'",
        env={**os.environ, "SOURCE_SECRET": secret},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(shell.communicate(), 30)
    assert shell.returncode == 0, err.decode()
    body, _, status = out.decode().rpartition("\n")
    assert status == "202", out.decode()
    async with console.client(Role.ADMIN) as admin:
        [event] = json.loads(body)["events"]
        stored = await admin.get(f"/api/v1/events/{event['id']}")
    assert stored.status_code == 200, stored.text
    assert stored.json()["name"] == "test alert"
