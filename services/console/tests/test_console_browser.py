"""The console in a real browser: Debian's Chromium driven by Playwright, headless.

The analyst's path (sign in, triage an event from the queue, run an action, close it) and the
approver's path (sign in with an owner's approver token, approve from the inbox), each leaving
screenshots in ``test-artifacts/console/``; and an accessibility check of the pages on the way:
every form control has a label, the skip link comes first on the keyboard, and text and buttons
keep a contrast ratio of at least 4.5:1 (WCAG 2.1, 1.4.3); and axe-core, fetched from the npm
registry at a pinned version and checked against its published integrity, finds nothing serious
or critical on any page either path visits.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import shutil
import tarfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from rampart.core.auth import Role
from services.approvals.tests._notify_fakes import Mailbox, notify_env, smtp
from tests.harness import ServiceHarness, StartServices

__all__ = ["notify_env", "smtp"]  # fixtures

CHROMIUM = os.environ.get("RAMPART_TEST_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "console"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
AXE_VERSION = "4.10.2"
# dist.integrity of https://registry.npmjs.org/axe-core/4.10.2
AXE_INTEGRITY = (
    "sha512-RE3mdQ7P3FRSe7eqCWoeQ/Z9QXrtniSjp1wUjt5nRC3WIpz5rSCve6o3fsZ2aCpJtrZjSZgjwXAoTO5k4tEI0w"
    "=="
)
AXE_TARBALL = f"https://registry.npmjs.org/axe-core/-/axe-core-{AXE_VERSION}.tgz"
AXE_CACHE = ARTIFACTS.parent / "cache" / f"axe-core-{AXE_VERSION}.tgz"
AXE_BLOCKING = ("serious", "critical")
PACING = {
    "RAMPART_BROKER_RECONCILE_INTERVAL_S": "0.1",
    "RAMPART_BROKER_BACKOFF_S": "0.05",
    "RAMPART_BROKER_LEASE_S": "3",
}

# Runs in the page: what a screen reader and a keyboard user would trip over.
A11Y_CHECK = """
() => {
  const problems = [];
  const luminance = (rgb) => {
    const [r, g, b] = rgb.map((v) => {
      v = v / 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const parse = (color) => (color.match(/[\\d.]+/g) || []).slice(0, 4).map(Number);
  const background = (el) => {
    for (let node = el; node; node = node.parentElement) {
      const c = parse(getComputedStyle(node).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0)) { return c.slice(0, 3); }
    }
    return [255, 255, 255];
  };
  for (const control of document.querySelectorAll("input, select, textarea")) {
    if (control.type === "hidden") { continue; }
    const labelled = (control.id && document.querySelector(`label[for="${control.id}"]`))
      || control.closest("label") || control.getAttribute("aria-label");
    if (!labelled) { problems.push(`no label: ${control.outerHTML.slice(0, 80)}`); }
  }
  for (const el of document.querySelectorAll("a, button, label, td, th, p, h1, h2, dd, dt, li")) {
    if (!el.offsetParent || !el.textContent.trim()) { continue; }
    const fg = parse(getComputedStyle(el).color).slice(0, 3);
    const bg = background(el);
    const [a, b] = [luminance(fg), luminance(bg)].sort((x, y) => y - x);
    const ratio = (a + 0.05) / (b + 0.05);
    if (ratio < 4.5) {
      const text = el.textContent.trim().slice(0, 40);
      problems.push(`contrast ${ratio.toFixed(2)}: ${el.tagName} ${text}`);
    }
  }
  if (!document.documentElement.lang) { problems.push("no lang attribute"); }
  return problems;
}
"""


@pytest.fixture
async def console(
    start_services: StartServices, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[ServiceHarness]:
    for name, value in PACING.items():
        monkeypatch.setenv(name, value)
    async with start_services() as services:
        yield services


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    if shutil.which(CHROMIUM) is None:
        pytest.skip(f"no Chromium at {CHROMIUM} (Debian package chromium; make test installs it)")
    from playwright.async_api import async_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as driver:
        launched = await driver.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        try:
            yield launched
        finally:
            await launched.close()


def _integrity_of(tarball: bytes) -> str:
    algorithm, _, _ = AXE_INTEGRITY.partition("-")
    digest = hashlib.new(algorithm, tarball).digest()
    return f"{algorithm}-{base64.b64encode(digest).decode()}"


def _axe_tarball() -> bytes:
    """The pinned axe-core tarball: from the cache when it is intact, else from the registry."""
    if AXE_CACHE.is_file():
        cached = AXE_CACHE.read_bytes()
        if _integrity_of(cached) == AXE_INTEGRITY:
            return cached
    fetched = httpx.get(AXE_TARBALL, timeout=60, follow_redirects=True)
    fetched.raise_for_status()
    tarball = fetched.content
    found = _integrity_of(tarball)
    assert found == AXE_INTEGRITY, f"{AXE_TARBALL}: integrity {found}, expected {AXE_INTEGRITY}"
    AXE_CACHE.parent.mkdir(parents=True, exist_ok=True)
    AXE_CACHE.write_bytes(tarball)
    return tarball


@pytest.fixture(scope="session")
def axe_source() -> str:
    """``axe.min.js`` of the pinned axe-core, to inject into each page."""
    try:
        tarball = _axe_tarball()
    except httpx.HTTPError as exc:
        reason = f"axe-core could not be fetched from {AXE_TARBALL}: {exc}"
        if IN_CI:
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        member = archive.extractfile("package/axe.min.js")
        assert member is not None, f"{AXE_TARBALL} has no package/axe.min.js"
        return member.read().decode()


# Runs in the page after axe.min.js: each serious or critical violation, one line per element.
AXE_RUN = """
async (blocking) => {
  const results = await axe.run(document, { resultTypes: ["violations"] });
  const found = [];
  for (const v of results.violations) {
    if (!blocking.includes(v.impact)) { continue; }
    for (const node of v.nodes) {
      const where = node.target.join(" ");
      found.push(`${v.impact} ${v.id} (${v.help}): ${where} ${node.failureSummary}`);
    }
  }
  return found;
}
"""


async def _new_page(browser: Any, axe: str) -> Any:
    """A page into whose every document axe-core is injected before the page's own scripts.

    An init script rather than ``add_script_tag``: the console's Content-Security-Policy refuses
    inline scripts, and the browser keeps enforcing it here rather than being told to bypass it.
    """
    page = await browser.new_page()
    await page.add_init_script(script=axe)
    return page


async def _accessible(page: Any, where: str) -> None:
    problems = await page.evaluate(A11Y_CHECK)
    assert problems == [], f"{where}: {problems}"
    assert await page.evaluate("typeof axe") == "object", f"{where}: axe-core is not loaded"
    violations = await page.evaluate(AXE_RUN, list(AXE_BLOCKING))
    assert violations == [], f"{where}: axe-core found\n" + "\n".join(violations)


async def _sign_in(page: Any, url: str, token: str) -> None:
    await page.goto(f"{url}/login")
    await _accessible(page, "sign-in")
    assert await page.evaluate("document.activeElement.id") == "token"  # autofocus
    await page.keyboard.press("Shift+Tab")  # the skip link is the first stop on the keyboard
    focused = await page.evaluate("document.activeElement.textContent")
    assert focused.strip() == "Skip to content"
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.id") == "token"
    await page.get_by_label("API token").fill(token)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"{url}/events")


async def _screenshot(page: Any, name: str, bus_kind: str) -> None:
    await page.screenshot(path=str(ARTIFACTS / f"{bus_kind}-{name}.png"), full_page=True)


async def test_the_analyst_triages_acts_and_closes_in_the_browser(
    console: ServiceHarness, browser: Any, axe_source: str, bus_kind: str
) -> None:
    suffix = uuid.uuid4().hex[:6]
    async with console.client(Role.ADMIN) as admin:
        owner = (await admin.post("/api/v1/owners", json={"name": f"b-{suffix}"})).json()
        made = await admin.post(
            "/api/v1/assets",
            json={
                "name": f"intel-{suffix}",
                "connector": "noop",
                "config": {},
                "primary_owners": [owner["id"]],
            },
        )
        assert made.status_code == 201, made.text
    async with console.client(Role.ANALYST) as analyst:
        event = (
            await analyst.post(
                "/api/v1/events",
                json={"name": f"beacon {suffix}", "source": "browser", "severity": "high"},
            )
        ).json()

    page = await _new_page(browser, axe_source)
    wrong = await _new_page(browser, axe_source)
    await wrong.goto(f"{console.url}/login")
    await wrong.get_by_label("API token").fill("rpt_not_a_token")
    await wrong.get_by_role("button", name="Sign in").click()
    await wrong.get_by_text("That token was not accepted").wait_for()
    await _accessible(wrong, "sign-in refused")

    await _sign_in(page, console.url, console.tokens[Role.ANALYST])
    link = page.get_by_role("link", name=f"beacon {suffix}")
    await link.wait_for()  # the queue refreshes by itself until the event is listed
    await _accessible(page, "event queue")
    await _screenshot(page, "queue", bus_kind)
    await link.click()
    await page.wait_for_url(f"{console.url}/events/{event['id']}")
    await _accessible(page, "event page")

    await page.get_by_label("Action", exact=True).select_option("lookup ip")
    await page.get_by_label("Target", exact=True).fill(f"intel-{suffix}")
    await page.get_by_label("Parameters (JSON)").fill('{"ip": "not an address"}')
    await page.get_by_role("button", name="Run action").click()
    await page.locator(".field-error").first.wait_for()
    assert "params.ip" in await page.locator(".field-error").first.inner_text()
    await _accessible(page, "event page with a refused action")

    await page.get_by_label("Parameters (JSON)").fill('{"ip": "203.0.113.5"}')
    await page.get_by_role("button", name="Run action").click()
    await page.wait_for_url(f"{console.url}/events/{event['id']}")

    async def succeeded() -> bool:
        await page.reload()
        return await page.locator(".status-success").count() > 0

    await console.eventually(succeeded)
    frame = page.locator("iframe.widget").first
    assert await frame.get_attribute("sandbox") == ""
    await _accessible(page, "event page with an action's result")
    await _screenshot(page, "event-acted", bus_kind)

    await page.get_by_label("Resolution").fill("contained: no callback seen")
    await page.get_by_role("button", name="Close event").click()
    await page.wait_for_url(f"{console.url}/events/{event['id']}")
    status = await page.locator("#event-status").inner_text()
    assert status.startswith("closed")
    await _accessible(page, "closed event page")
    async with console.client(Role.ANALYST) as analyst:
        stored = (await analyst.get(f"/api/v1/events/{event['id']}")).json()
    assert stored["resolution"] == "contained: no callback seen"


async def test_the_approver_decides_from_the_inbox_in_the_browser(
    console: ServiceHarness, browser: Any, axe_source: str, bus_kind: str
) -> None:
    suffix = uuid.uuid4().hex[:6]
    async with console.client(Role.ADMIN) as admin:
        owner = (await admin.post("/api/v1/owners", json={"name": f"fw-{suffix}"})).json()
        approver = (await admin.post(f"/api/v1/owners/{owner['id']}/approver-tokens")).json()
        await admin.post(
            "/api/v1/assets",
            json={
                "name": f"fw-{suffix}",
                "connector": "noop",
                "config": {},
                "primary_owners": [owner["id"]],
            },
        )
        requested = await admin.post(
            "/api/v1/action-runs",
            json={
                "action": "block ip",
                "target": {"asset": f"fw-{suffix}"},
                "params": {"ip": "198.51.100.77"},
            },
        )
        run_id = requested.json()["runs"][0]["id"]

    page = await _new_page(browser, axe_source)
    await _sign_in(page, console.url, approver["token"])
    await page.goto(f"{console.url}/approvals")
    card = page.locator("article.approval", has_text=f"block ip on fw-{suffix}")
    await card.wait_for()  # the inbox refreshes by itself until the approval arrives
    assert "198.51.100.77" in await card.inner_text()
    await _accessible(page, "approvals inbox")
    await _screenshot(page, "inbox", bus_kind)
    await card.get_by_label("Comment").fill("ok, that host is hostile")
    await card.get_by_role("button", name="Approve").click()
    await page.get_by_role("status").wait_for()
    assert "approved" in await page.get_by_role("status").inner_text()

    async def ran() -> bool:
        async with console.client(Role.ADMIN) as admin:
            run = (await admin.get(f"/api/v1/action-runs/{run_id}")).json()
        return run["status"] == "success"

    await console.eventually(ran)
    await page.goto(f"{console.url}/approvals")
    history = page.locator("section[aria-labelledby=decided-h] tr", has_text=f"fw-{suffix}")
    await history.wait_for()  # the decided one moves to the history
    assert "approved" in await history.inner_text()
    await _accessible(page, "approvals inbox after a decision")
    await _screenshot(page, "inbox-decided", bus_kind)


async def test_the_approver_decides_from_an_emailed_link_in_the_browser(
    notify_env: Mailbox, console: ServiceHarness, browser: Any, axe_source: str, bus_kind: str
) -> None:
    suffix = uuid.uuid4().hex[:6]
    address = f"owner-{suffix}@soc.example"
    async with console.client(Role.ADMIN) as admin:
        owner = (
            await admin.post(
                "/api/v1/owners",
                json={"name": f"mail-{suffix}", "kind": "person", "email": address},
            )
        ).json()
        await admin.post(
            "/api/v1/assets",
            json={
                "name": f"mailfw-{suffix}",
                "connector": "noop",
                "config": {},
                "primary_owners": [owner["id"]],
            },
        )
        requested = await admin.post(
            "/api/v1/action-runs",
            json={
                "action": "block ip",
                "target": {"asset": f"mailfw-{suffix}"},
                "params": {"ip": "192.0.2.99"},
            },
        )
        run_id = requested.json()["runs"][0]["id"]

    mails = await console.eventually(lambda: notify_env.to(address) or None)
    link = mails[0].link()
    page = await _new_page(browser, axe_source)  # no Rampart sign-in: the link is the credential
    await page.goto(link)
    assert "block ip" in await page.locator("h1").inner_text()
    assert "192.0.2.99" in await page.content()
    await _accessible(page, "e-mailed approval page")
    await page.get_by_label("Approve").check()
    await page.get_by_label("Comment").fill("approved from my phone")
    await page.get_by_role("button", name="Review my decision").click()
    await page.get_by_role("button", name="Confirm: approve").wait_for()
    await _accessible(page, "e-mailed approval's confirmation")
    await _screenshot(page, "link-confirm", bus_kind)
    await page.get_by_role("button", name="Confirm: approve").click()
    await page.get_by_text("Your decision was recorded: approve").wait_for()
    await _accessible(page, "e-mailed approval recorded")

    async def ran() -> dict[str, Any] | None:
        async with console.client(Role.ADMIN) as admin:
            run = (await admin.get(f"/api/v1/action-runs/{run_id}")).json()
        return run if run["status"] == "success" else None

    done = await console.eventually(ran)
    assert done["decision_comment"] == "approved from my phone"
    again = await browser.new_page()
    answer = await again.goto(link)
    assert answer is not None
    assert answer.status >= 400  # single use: the link is spent


PLAYBOOK = '''
from rampart.sdk.playbook import Context, Event, playbook


@playbook(labels=["tour-{suffix}"])
async def tour_{suffix}(ctx: Context, event: Event) -> None:
    """Note that the event was seen."""
    await ctx.add_note("seen")
'''


async def test_the_admin_pages_render_accessibly_in_the_browser(
    console: ServiceHarness, browser: Any, axe_source: str, bus_kind: str
) -> None:
    suffix = uuid.uuid4().hex[:6]
    async with console.client(Role.ADMIN) as admin:
        owner = (await admin.post("/api/v1/owners", json={"name": f"tour-{suffix}"})).json()
        made = await admin.post(
            "/api/v1/assets",
            json={
                "name": f"tour-{suffix}",
                "connector": "noop",
                "config": {},
                "primary_owners": [owner["id"]],
            },
        )
        assert made.status_code == 201, made.text
        source = await admin.post(
            "/api/v1/sources", json={"name": f"tour-{suffix}", "kind": "splunk"}
        )
        assert source.status_code == 201, source.text
        webhook = source.json()["webhook_path"]

    page = await _new_page(browser, axe_source)
    await _sign_in(page, console.url, console.tokens[Role.ADMIN])

    await page.goto(f"{console.url}/assets")
    await page.get_by_text(f"tour-{suffix}").first.wait_for()
    await _accessible(page, "assets and owners")

    await page.goto(f"{console.url}/playbooks")
    await _accessible(page, "playbooks")
    await page.get_by_label("Source").fill("def not_a_playbook(:\n")
    await page.get_by_role("button", name="Upload").click()
    await page.locator(".problem").wait_for()  # the API's refusal, beside the form
    await _accessible(page, "playbooks with a refused upload")
    await page.get_by_label("Source").fill(PLAYBOOK.replace("{suffix}", suffix))
    await page.get_by_role("button", name="Upload").click()
    await page.wait_for_url(f"{console.url}/playbooks?show=tour_{suffix}")
    await page.get_by_role("button", name=f"Deactivate tour_{suffix}").click()
    await page.get_by_role("button", name=f"Activate tour_{suffix}").wait_for()
    await _accessible(page, "playbooks after an upload")
    await _screenshot(page, "playbooks", bus_kind)

    await page.goto(f"{console.url}/sources")
    assert webhook in await page.locator("article.source", has_text=f"tour-{suffix}").inner_text()
    await _accessible(page, "sources")

    await page.goto(f"{console.url}/dead-letters")
    await _accessible(page, "dead letters")
    await page.get_by_label("Queue").fill("broker.requests")
    await page.get_by_role("button", name="Show").click()
    await page.wait_for_url(f"{console.url}/dead-letters?queue=broker.requests")
    await _accessible(page, "dead letters of a queue")
    await page.get_by_role("button", name="Replay broker.requests").click()
    notice = page.get_by_role("status")
    await notice.wait_for()
    assert "replayed" in await notice.inner_text()
    await _accessible(page, "dead letters replayed")

    await page.goto(f"{console.url}/reports/sla")
    await page.get_by_role("img", name="SLA compliance by severity").wait_for()
    await _accessible(page, "SLA report")
    await _screenshot(page, "sla-report", bus_kind)
    await page.get_by_label("From (ISO 8601)").fill("yesterday-ish")
    await page.get_by_role("button", name="Show").click()
    await page.locator(".problem").wait_for()  # the API's refusal, beside the range's fields
    assert "since" in await page.locator(".problem").inner_text()
    assert await page.get_by_label("From (ISO 8601)").input_value() == "yesterday-ish"
    await _accessible(page, "SLA report with a refused range")
