"""The seed's story as a user lives it, in distributed mode, on the real parts.

Every service is a ``rampart serve`` process on the real RabbitMQ and PostgreSQL
(``tests/_cluster.py``); the host web-01 is a real sshd in a network namespace with a running
"malware" process (``rampart.cli._namespace_host``, the demo host's); owners are reached by a
real SMTP server (aiosmtpd) and a Slack incoming-webhook fake that checks Block Kit as Slack
documents it. The playbook is the shipped ``playbooks/contain_malware_linux.py``.

A Splunk alert comes in by a signed webhook: ``demo-malware`` on web-01 talked to
198.51.100.66. The playbook dumps the process at once (the dump is in the vault) and asks for
``terminate process``: alice, the primary owner, is e-mailed a link and does not answer; her
stage's SLA (six seconds, from web-01's approval policy) passes and the approval goes to the
secondary owners, bob by e-mail and the on-call channel on Slack. Then, in turn:

* bob approves through the e-mailed link as a browser would: the process is gone from the
  host, 198.51.100.66 is in the host's nftables and a connection from web-01 to it (which got
  through before) no longer does, the run completed;
* bob denies: the process keeps running, and the event's note and the run say why;
* nobody answers, the secondary stage passes too and the approval expires: the same.

Throughout, a subscriber of its own binds a queue to the namespace's topic exchange as any
outside tool would (aio_pika, routing key ``#``); each message it hears validates against the
AsyncAPI document that ``GET /api/v1/asyncapi.json`` serves.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import re
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import aio_pika
import httpx
import jsonschema_rs
import pytest

from rampart.cli._namespace_host import NamespaceHost, process_alive, run
from services.approvals.tests._notify_fakes import Chat, Mailbox, chat, smtp
from tests._cluster import Cluster, start_cluster
from tests._eventually import eventually
from tests._hosts import namespace_host
from tests._tutorial_doc import Page, normalise

__all__ = ["chat", "smtp"]

pytestmark = [pytest.mark.slow, pytest.mark.rabbitmq, pytest.mark.timeout(240)]

REPO = Path(__file__).resolve().parents[1]
REMOTE = "198.51.100.66"  # TEST-NET-2: the alert names it; only the test listens there
STAGE_S = 6
"""The primary stage's SLA: short enough to watch it pass."""
PLAYBOOK = "contain_malware_linux"


@dataclass
class Malware:
    """The host and the process the alert reports on it."""

    host: NamespaceHost
    pid: int


@pytest.fixture
def web_01(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Malware]:
    """sshd in a fresh network namespace, ``demo-malware`` running in it, a route to REMOTE."""
    work = tmp_path_factory.mktemp("web-01")
    with (
        namespace_host(work, label="s", needed_by="the story") as host,
        _demo_malware(host, work) as pid,
    ):
        # REMOTE answers on the host's end of web-01's link, so a block has traffic to drop;
        # the address goes with the link when the host is torn down
        run("ip", "addr", "add", f"{REMOTE}/32", "dev", host.outer)
        host.in_namespace("ip", "route", "add", f"{REMOTE}/32", "via", host.management_address)
        yield Malware(host, pid)


@contextlib.contextmanager
def _demo_malware(host: NamespaceHost, work: Path) -> Iterator[int]:
    """``demo-malware`` running in ``host``'s namespace, as ``rampart demo host`` starts it."""
    malware = work / "demo-malware"
    shutil.copy(shutil.which("sleep") or "/bin/sleep", malware)
    # kept as our child, to be reaped at the end
    process = subprocess.Popen(
        ["ip", "netns", "exec", host.namespace, str(malware), "infinity"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 10
        while Path(f"/proc/{process.pid}/comm").read_text().strip() != "demo-malware":
            assert time.monotonic() < deadline, "demo-malware did not start"
            time.sleep(0.02)
        yield process.pid
    finally:
        process.kill()
        process.wait(timeout=30)


async def _web_01_reaches_remote(web: Malware) -> bool:
    """Whether a TCP connection from web-01 to REMOTE is answered (the test listens there)."""
    with socket.create_server((REMOTE, 0)) as listener:
        port = listener.getsockname()[1]
        connect = await asyncio.create_subprocess_exec(
            *("ip", "netns", "exec", web.host.namespace, "timeout", "5", "bash", "-c"),
            f"exec 3<>/dev/tcp/{REMOTE}/{port}",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        return await connect.wait() == 0


@dataclass
class Heard:
    """What the outside subscriber received: each message's routing key and body."""

    messages: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def types(self) -> list[str]:
        return [body.get("type", "") for _, body in self.messages]

    def of(self, message_type: str) -> list[dict[str, Any]]:
        return [body for _, body in self.messages if body.get("type") == message_type]


@contextlib.asynccontextmanager
async def listening(amqp_url: str, exchange: str) -> AsyncIterator[Heard]:
    """A queue of our own bound to the exchange with ``#``, as an outside tool binds it."""
    heard = Heard()
    connection = await aio_pika.connect_robust(amqp_url)
    try:
        channel = await connection.channel()
        topic = await channel.get_exchange(exchange, ensure=True)
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await queue.bind(topic, routing_key="#")

        async def take(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            async with message.process():
                heard.messages.append((message.routing_key or "", json.loads(message.body)))

        await queue.consume(take)
        yield heard
    finally:
        await connection.close()


class Story:
    """The running Rampart, the people, the host, and the clients a user would hold."""

    def __init__(
        self, cluster: Cluster, web: Malware, mail: Mailbox, slack: Chat, heard: Heard
    ) -> None:
        self.cluster, self.web, self.mail, self.slack, self.heard = cluster, web, mail, slack, heard
        self.api = httpx.AsyncClient(
            headers={"Authorization": f"Bearer {cluster.token}"}, timeout=30
        )
        self.owners: dict[str, str] = {}

    def at(self, service: str, path: str) -> str:
        return f"{self.cluster.url(service)}/api/v1{path}"

    async def get(self, service: str, path: str, **params: Any) -> Any:
        response = await self.api.get(self.at(service, path), params=params)
        assert response.status_code == 200, f"{path}: {response.status_code} {response.text}"
        return response.json()

    async def send(self, method: str, service: str, path: str, body: Any) -> Any:
        response = await self.api.request(method, self.at(service, path), json=body)
        assert response.status_code in (200, 201, 202), f"{path}: {response.text}"
        return response.json()

    async def set_up(self, *, secondary_minutes: float) -> str:
        """Owners, web-01 as an asset, the playbook on, a Splunk source; its secret."""
        for name, contact in (
            ("alice", {"email": "alice@soc.example"}),
            ("bob", {"email": "bob@soc.example"}),
            ("web-oncall", {"slack_webhook_url": self.slack.slack("web-oncall")}),
        ):
            made = await self.send(
                "POST", "asset-registry", "/owners", {"name": name, "kind": "person", **contact}
            )
            self.owners[name] = made["id"]
        await self.send(
            "POST",
            "asset-registry",
            "/assets",
            {
                "name": "web-01",
                "connector": "ssh",
                "tags": ["linux", "perimeter"],
                "config": self.web.host.config(),
                "primary_owners": [self.owners["alice"]],
                "secondary_owners": [self.owners["bob"], self.owners["web-oncall"]],
                "approval_policy": {
                    "kinds": [],
                    "actions": ["terminate process"],
                    "sla_minutes": {"primary": STAGE_S / 60, "secondary": secondary_minutes},
                },
            },
        )

        async def loaded() -> bool:
            names = {p["name"] for p in await self.get("playbook-engine", "/playbooks")}
            return PLAYBOOK in names

        await eventually(loaded, timeout=60, what="the playbooks folder was read")
        turned = await self.send("PATCH", "playbook-engine", f"/playbooks/{PLAYBOOK}", {
            "active": True
        })  # fmt: skip
        assert turned["active"] is True, turned
        source = await self.send(
            "POST",
            "ingest",
            "/sources",
            {"name": "splunk", "kind": "splunk", "auth": "hmac", "default_labels": ["malware"]},
        )
        return str(source["secret"])

    async def alert(self, secret: str) -> str:
        """What Splunk's webhook alert action posts, signed the Standard Webhooks way."""
        body = json.dumps(
            {
                "sid": f"scheduler__admin__search__malware_{uuid.uuid4().hex[:8]}",
                "search_name": "Malware beacon",
                "result": {
                    "rule_name": "Malware beacon from web-01",
                    "urgency": "high",
                    "host": "web-01",
                    "process": "demo-malware",
                    "process_id": self.web.pid,
                    "dest_ip": REMOTE,
                },
            }
        ).encode()
        msg_id, ts = f"msg_{uuid.uuid4().hex}", str(int(time.time()))
        key = base64.b64decode(secret.removeprefix("whsec_"))
        signed = f"{msg_id}.{ts}.".encode() + body
        signature = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
        async with httpx.AsyncClient(timeout=30) as splunk:
            response = await splunk.post(
                f"{self.cluster.url('ingest')}/api/v1/ingest/splunk",
                content=body,
                headers={
                    "content-type": "application/json",
                    "webhook-id": msg_id,
                    "webhook-timestamp": ts,
                    "webhook-signature": f"v1,{signature}",
                },
            )
        assert response.status_code == 202, response.text
        answer = response.json()
        assert answer["accepted"] == 1, answer
        assert answer["errors"] == [], answer
        return str(answer["events"][0]["id"])

    async def action_runs(self, event_id: str) -> dict[str, dict[str, Any]]:
        page = await self.get("action-broker", "/action-runs", event_id=event_id)
        return {r["action"]: r for r in page["items"]}

    async def run_of(self, event_id: str) -> dict[str, Any]:
        async def started() -> list[dict[str, Any]]:
            runs = await self.get("playbook-engine", "/runs", event_id=event_id)
            return [r for r in runs if r["playbook"] == PLAYBOOK]

        [run] = await eventually(started, timeout=60, what="the playbook started on the event")
        return run

    async def finished(self, run_id: str) -> dict[str, Any]:
        async def ended() -> list[dict[str, Any]]:
            run = await self.get("playbook-engine", f"/runs/{run_id}")
            return [run] if run["status"] in ("completed", "failed", "cancelled") else []

        [run] = await eventually(ended, timeout=90, what="the run ended")
        return run

    async def approval(self, event_id: str) -> dict[str, Any]:
        async def opened() -> list[dict[str, Any]]:
            return list(await self.get("approvals", "/approvals", event_id=event_id))

        [approval] = await eventually(opened, timeout=60, what="terminate process waits")
        return dict(await self.get("approvals", f"/approvals/{approval['id']}"))

    async def mail_to(self, address: str, count: int = 1) -> list[Any]:
        def arrived() -> list[list[Any]]:
            got = self.mail.to(address)
            return [got] if len(got) >= count else []

        [got] = await eventually(arrived, timeout=60, what=f"{count} mail(s) to {address}")
        return got

    async def close(self) -> None:
        await self.api.aclose()


@pytest.fixture
async def story(
    smtp: Mailbox,
    chat: Chat,
    web_01: Malware,
    fresh_database: str,
    amqp_url: str,
    namespace: str,
    tmp_path: Path,
) -> AsyncIterator[Story]:
    """All of Rampart as processes, mail to ``smtp``, and the subscriber already listening."""
    settings = {
        "RAMPART_APPROVALS_SMTP_HOST": "127.0.0.1",
        "RAMPART_APPROVALS_SMTP_PORT": str(smtp.port),
        "RAMPART_APPROVALS_SMTP_FROM": "rampart@soc.example",
        "RAMPART_APPROVALS_INTERVAL_S": "0.2",
        "RAMPART_ENGINE_PLAYBOOKS_DIR": str(REPO / "playbooks"),
        "RAMPART_ENGINE_SYNC_INTERVAL_S": "0.5",
        "RAMPART_ENGINE_TIMER_INTERVAL_S": "0.2",
        "RAMPART_ENGINE_PROCESSES": "1",
    }
    async with (
        start_cluster(
            database_url=fresh_database,
            amqp_url=amqp_url,
            namespace=namespace,
            tmp=tmp_path,
            settings=settings,
        ) as cluster,
        listening(amqp_url, namespace) as heard,
    ):
        told = Story(cluster, web_01, smtp, chat, heard)
        try:
            yield told
        finally:
            await told.close()


async def _decide_in_browser(link: str, choice: str) -> str:
    """Open the e-mailed link, pick ``choice``, review and confirm it; the last page's text."""
    async with httpx.AsyncClient(timeout=30) as browser:
        opened = await browser.get(link)
        assert opened.status_code == 200, opened.text[:500]
        page = Page(opened.text)
        assert "terminate process" in page.text, page.text
        assert "web-01" in page.text, page.text
        [form] = [f for f in page.forms if normalise(choice) in f.radios]
        name, value = form.radios[normalise(choice)]
        form.fields[name] = value
        reviewed = await browser.post(urljoin(str(opened.url), form.action or ""), data=form.fields)
        assert reviewed.status_code == 200, reviewed.text[:500]
        review = Page(reviewed.text)
        confirm = f"Confirm: {choice.lower()}"
        [form] = [f for f in review.forms if normalise(confirm) in f.buttons]
        done = await browser.post(urljoin(str(reviewed.url), form.action or ""), data=form.fields)
        assert done.status_code == 200, done.text[:500]
        return Page(done.text).text


def _at(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp)


def _nft_ruleset(web: Malware) -> str:
    return web.host.in_namespace("nft", "list", "ruleset").stdout


def _namespace_pids(web: Malware) -> set[int]:
    listed = run("ip", "netns", "pids", web.host.namespace)
    return {int(word) for word in listed.stdout.split()}


async def _the_story_until_the_secondary_is_asked(
    story: Story, *, secondary_minutes: float
) -> dict[str, Any]:
    """Steps 1 and 2 up to the escalation: the alert, the dump, alice silent, the breach."""
    secret = await story.set_up(secondary_minutes=secondary_minutes)
    event_id = await story.alert(secret)
    run = await story.run_of(event_id)

    # the dump ran at once: no approval, and the core file is in the vault
    async def dumped() -> list[dict[str, Any]]:
        runs = await story.action_runs(event_id)
        dump = runs.get("get process dump")
        return [dump] if dump and dump["status"] == "success" else []

    [dump] = await eventually(dumped, timeout=60, what="the process dump")
    assert dump["decided_by"] is None, "an investigate action runs without approval"
    detail = await story.get("action-broker", f"/action-runs/{dump['id']}")
    [found] = detail["data"]
    assert (found["pid"], found["name"]) == (story.web.pid, "demo-malware"), found
    # downloaded as the analyst would, through the broker's API
    download = await story.api.get(story.at("action-broker", f"/vault/{found['file']['sha256']}"))
    assert download.status_code == 200, download.text[:300]
    assert download.headers["content-disposition"].startswith("attachment;"), download.headers
    stored = download.content
    assert len(stored) == found["file"]["size"]
    assert hashlib.sha256(stored).hexdigest() == found["file"]["sha256"]
    assert stored[:4] == b"\x7fELF"
    assert int.from_bytes(stored[16:18], "little") == 4  # a core file

    # terminate process waits for alice, who is e-mailed a link and does not answer
    approval = await story.approval(event_id)
    assert approval["action"] == "terminate process", approval
    assert approval["asset"] == "web-01", approval
    assert approval["stage"] == "primary", approval
    [to_alice] = await story.mail_to("alice@soc.example")
    assert "Approval needed: terminate process on web-01" in str(to_alice.message["Subject"])
    alice_link = to_alice.link()
    assert alice_link.startswith(story.cluster.url("approvals") + "/api/v1/approve/")
    assert process_alive(story.web.pid), "nothing is terminated before an owner approves"
    assert story.web.pid in _namespace_pids(story.web)

    # her stage's SLA passes: the approval moves to bob (e-mail) and the on-call channel
    async def escalated() -> list[dict[str, Any]]:
        now = await story.get("approvals", f"/approvals/{approval['id']}")
        return [now] if now["stage"] == "secondary" else []

    [moved] = await eventually(escalated, timeout=STAGE_S + 30, what="the primary stage breach")
    kinds = [h["kind"] for h in moved["history"]]
    assert "escalated" in kinds, kinds
    requested = next(h for h in moved["history"] if h["kind"] == "requested")
    passed = next(h for h in moved["history"] if h["kind"] == "escalated")
    assert passed["detail"]["from"] == "primary", passed
    # the stage passed at its due time, on the clock the service recorded, not before
    assert passed["at"] >= requested["detail"]["due_at"], (requested, passed)
    [timer] = await story.get("approvals", "/slas", subject_id=approval["id"])
    assert timer["subject_kind"] == "approval", timer

    [to_bob] = await story.mail_to("bob@soc.example")
    assert "secondary stage" in str(to_bob.message["Subject"]), to_bob.message["Subject"]

    async def on_slack() -> list[Any]:
        return [r for r in story.slack.got("slack", "web-oncall") if r.accepted]

    [posted] = await eventually(on_slack, timeout=30, what="the Slack message to web-oncall")
    assert "terminate process" in json.dumps(posted.json), posted.json
    assert process_alive(story.web.pid)

    # alice's link belonged to her stage, which is over
    async with httpx.AsyncClient(timeout=30) as browser:
        late = await browser.get(alice_link)
    assert late.status_code == 410, late.text[:300]
    return {"event_id": event_id, "run": run, "approval": approval, "to_bob": to_bob}


async def _check_the_bus(story: Story, event_id: str) -> list[str]:
    """Every message heard validates against the AsyncAPI document; the types heard."""
    document = await story.get("ingest", "/asyncapi.json")
    exchange = story.cluster.env["RAMPART_BUS_NAMESPACE"]
    by_type = {m["name"]: key for key, m in document["components"]["messages"].items()}
    addresses = {next(iter(c["messages"])): c["address"] for c in document["channels"].values()}
    for channel in document["channels"].values():
        assert channel["bindings"]["amqp"]["exchange"]["name"] == exchange
    validators: dict[str, Any] = {}
    assert story.heard.messages, "the subscriber heard nothing"
    for routing_key, body in story.heard.messages:
        name = by_type.get(body.get("type", ""))
        assert name is not None, f"a message of a type the document lacks: {body}"
        # the channel's address, its {parameters} standing for one word each
        address = re.escape(addresses[name]).replace(r"\{", "{").replace(r"\}", "}")
        assert re.fullmatch(re.sub(r"{[^}]+}", r"[^.]+", address), routing_key), (
            routing_key,
            addresses[name],
        )
        if name not in validators:
            validators[name] = jsonschema_rs.validator_for(
                {**document, "$ref": f"#/components/messages/{name}/payload"}
            )
        errors = [str(e) for e in validators[name].iter_errors(body)]
        assert not errors, f"{body['type']} does not match the document: {errors}\n{body}"
    return story.heard.types()


async def test_the_secondary_owner_approves_and_the_process_is_gone(story: Story) -> None:
    began = time.monotonic()
    so_far = await _the_story_until_the_secondary_is_asked(story, secondary_minutes=5)
    event_id, run = so_far["event_id"], so_far["run"]
    assert await _web_01_reaches_remote(story.web), "web-01 cannot reach REMOTE before the block"

    # bob approves through his e-mail's link: the page, then its confirmation
    shown = await _decide_in_browser(so_far["to_bob"].link(), "Approve")
    assert "Your decision was recorded: approve" in shown, shown

    finished = await story.finished(run["id"])
    assert finished["status"] == "completed", finished
    assert finished["result"] == {
        "terminated": [f"web-01:{story.web.pid}"],
        "blocked": [REMOTE],
        "firewalls": ["web-01"],
        "failed": [],
    }, finished["result"]
    assert not process_alive(story.web.pid), "demo-malware still runs on web-01"
    assert story.web.pid not in _namespace_pids(story.web)
    pid = story.web.pid
    assert [(t["kind"], t["summary"], t["status"]) for t in finished["timeline"][:5]] == [
        ("act", f"act('get process dump', asset='web-01', pid={pid})", "done"),
        ("log", "process dumped", "done"),
        ("act", f"act('terminate process', asset='web-01', pid={pid})", "done"),
        ("assets", "assets(tag='perimeter', action='block ip')", "done"),
        ("act", f"act('block ip', asset='web-01', ip='{REMOTE}')", "done"),
    ], finished["timeline"]
    ruleset = _nft_ruleset(story.web)
    assert REMOTE in ruleset, ruleset
    assert not await _web_01_reaches_remote(story.web), "traffic to the blocked IP still flows"

    # every action's result and widget through the broker's API
    runs = await story.action_runs(event_id)
    assert set(runs) == {"get process dump", "terminate process", "block ip"}, set(runs)
    assert all(r["status"] == "success" for r in runs.values()), runs
    assert story.owners["bob"] in (runs["terminate process"]["decided_by"] or "")
    for action_run in runs.values():
        detail = await story.get("action-broker", f"/action-runs/{action_run['id']}")
        assert detail["data"], detail
        widget = await story.api.get(
            story.at("action-broker", f"/action-runs/{action_run['id']}/widget")
        )
        assert widget.status_code == 200, widget.text
        assert widget.headers["content-type"].startswith("text/html"), widget.headers
    # the playbook's notes, and the event left open for the analyst
    event = await story.get("ingest", f"/events/{event_id}")
    notes = [n["text"] for n in event["notes"]]
    assert (
        f"contained: terminated web-01:{story.web.pid}; blocked {REMOTE} on 1 firewall(s)" in notes
    )
    assert event["status"] == "open", event["status"]
    # contained well inside the event's SLA, by the stored times: no breach recorded
    contained = next(n for n in event["notes"] if n["text"].startswith("contained:"))
    assert _at(contained["created_at"]) < _at(event["due_at"]), (contained, event["due_at"])
    assert event["sla_breached_at"] is None, event["sla_breached_at"]

    # step 3: the outside subscriber saw every step, each as the AsyncAPI document says
    types = await _check_the_bus(story, event_id)
    for step in (
        "rampart.event.ingested.v1",
        "rampart.playbook.run.started.v1",
        "rampart.action.requested.v1",
        "rampart.action.dispatched.v1",
        "rampart.action.started.v1",
        "rampart.approval.requested.v1",
        "rampart.approval.escalated.v1",
        "rampart.approval.notified.v1",
        "rampart.approval.decided.v1",
        "rampart.action.completed.v1",
        "rampart.playbook.run.completed.v1",
    ):
        assert step in types, f"{step} not heard; heard {sorted(set(types))}"
    [decided] = story.heard.of("rampart.approval.decided.v1")
    assert decided["data"]["decision"] == "approved", decided
    assert time.monotonic() - began < 90


@pytest.mark.parametrize("ending", ["denied", "expired"])
async def test_a_denial_or_an_expiry_leaves_the_process_running(story: Story, ending: str) -> None:
    began = time.monotonic()
    secondary = 5.0 if ending == "denied" else STAGE_S / 60
    so_far = await _the_story_until_the_secondary_is_asked(story, secondary_minutes=secondary)
    event_id, run = so_far["event_id"], so_far["run"]
    if ending == "denied":
        shown = await _decide_in_browser(so_far["to_bob"].link(), "Deny")
        assert "Your decision was recorded: deny" in shown, shown

    finished = await story.finished(run["id"])
    assert finished["status"] == "completed", finished
    assert finished["result"]["terminated"] == [], finished["result"]
    assert finished["result"]["blocked"] == [REMOTE], finished["result"]
    assert process_alive(story.web.pid), "the process was terminated without an approval"
    assert story.web.pid in _namespace_pids(story.web)

    approval = await story.get("approvals", f"/approvals/{so_far['approval']['id']}")
    assert approval["status"] == ending, approval
    runs = await story.action_runs(event_id)
    terminate = runs["terminate process"]
    assert terminate["status"] != "success", terminate
    # the run records why: the event's note names the process and the approval's end. Its
    # notes reach ingest over the bus, possibly after the run ended: wait for both of them.
    summary = f"contained: terminated nothing; blocked {REMOTE} on 1 firewall(s)"

    async def both_notes() -> list[str] | None:
        event = await story.get("ingest", f"/events/{event_id}")
        texts = [str(n["text"]) for n in event["notes"]]
        return texts if summary in texts else None

    notes = await eventually(both_notes, timeout=30, what="the run's closing note")
    [why] = [
        n for n in notes if n.startswith(f"process {story.web.pid} on web-01 was not terminated")
    ]
    if ending == "denied":
        assert "denied by " in why, why
        assert story.owners["bob"] in why, why
    else:
        assert "the approval expired: no owner decided" in why, why
    assert terminate["status"] == ending, terminate
    assert terminate["message"] in why, (terminate, why)
    # and the run's own timeline keeps the failed step with that reason
    [step] = [t for t in finished["timeline"] if t["summary"].startswith("act('terminate")]
    assert step["status"] == "done", step
    assert terminate["message"] in json.dumps(step["result"]), step
    assert summary in notes, notes

    types = await _check_the_bus(story, event_id)
    [decided] = story.heard.of("rampart.approval.decided.v1")
    assert decided["data"]["decision"] == ending, decided
    assert "rampart.approval.escalated.v1" in types
    assert time.monotonic() - began < 90
