"""Every catalog verb of the SaaS connectors, driven once end to end through the services.

A playbook's ``ctx.act`` goes to the real action broker, its runner opens the asset's sealed
configuration and runs the connector, which reaches a fake product over HTTPS on a local port
(certificate checked against the test CA), and the answer comes back into the run's result.
One set of services and fakes serves every connector of this module. The fakes follow the
vendor documents cited in each ``fakes/<vendor>.py``.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from connectors.tests._tls_fakes import LocalTls, make_tls, serve_https
from connectors.tests.fakes.abuseipdb import FakeAbuseIpdb
from connectors.tests.fakes.elasticsearch import FakeElasticsearch
from connectors.tests.fakes.entra import FakeEntra
from connectors.tests.fakes.jira import FakeJira, adf_text
from connectors.tests.fakes.okta import FakeOkta
from connectors.tests.fakes.servicenow import FakeServiceNow
from connectors.tests.fakes.slack import FakeSlack
from connectors.tests.fakes.splunk import FakeSplunk
from connectors.tests.fakes.teams import FakeTeams
from connectors.tests.fakes.virustotal import FakeVirusTotal
from rampart.connectors.virustotal.connector import url_id
from rampart.core.auth import Role
from tests.harness import StartServices, eventually

SHA256 = "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"

PLAYBOOK = """
import asyncio
from rampart.sdk.playbook import playbook

STEPS = {steps}

@playbook(labels=["{label}"])
async def {name}(ctx, event):
    out = {{}}

    async def in_order(asset):
        for key, action, on, params in STEPS:
            if on == asset:
                result = await ctx.act(action, asset=on, **params)
                out[key] = {{"status": result.status, "message": result.message,
                             "data": result.data[0] if result.data else None}}

    # each asset's steps in order (disable before enable), the assets side by side
    await asyncio.gather(*(in_order(a) for a in dict.fromkeys(s[2] for s in STEPS)))
    return out
"""

STEPS: list[tuple[str, str, str, dict[str, Any]]] = [
    ("okta disable", "disable user", "okta", {"user": "ann@example.com"}),
    ("okta enable", "enable user", "okta", {"user": "ann@example.com"}),
    (
        "okta add",
        "add to list",
        "okta",
        {"list": "quarantined", "value": "ann@example.com"},
    ),
    (
        "okta remove",
        "remove from list",
        "okta",
        {"list": "quarantined", "value": "ann@example.com"},
    ),
    ("entra disable", "disable user", "entra", {"user": "ann@contoso.com"}),
    ("entra enable", "enable user", "entra", {"user": "ann@contoso.com"}),
    ("vt ip", "lookup ip", "virustotal", {"ip": "203.0.113.9"}),
    ("vt hash", "lookup hash", "virustotal", {"hash": SHA256}),
    ("vt domain", "lookup domain", "virustotal", {"domain": "example.org"}),
    ("vt url", "lookup url", "virustotal", {"url": "http://evil.example/"}),
    ("abuse ip", "lookup ip", "abuseipdb", {"ip": "203.0.113.9"}),
    ("splunk", "run query", "splunk", {"query": "index=fw", "limit": 100}),
    ("elastic", "run query", "elasticsearch", {"query": "user:ann"}),
    (
        "sn create",
        "create ticket",
        "servicenow",
        {"title": "Suspicious sign-in", "priority": "high"},
    ),
    (
        "sn update",
        "update ticket",
        "servicenow",
        {"ticket": "INC0010001", "comment": "user suspended", "status": "resolved"},
    ),
    (
        "slack",
        "send message",
        "slack",
        {"to": ["#soc", "soc-hook"], "subject": "Contained", "body": "ann <suspended>"},
    ),
    (
        "teams",
        "send message",
        "teams",
        {"to": ["SOC", "IR"], "subject": "Contained", "body": "ann suspended"},
    ),
    (
        "jira create",
        "create ticket",
        "jira",
        {"title": "Suspicious sign-in", "description": "ann\n\nfrom 203.0.113.9"},
    ),
    (
        "jira update",
        "update ticket",
        "jira",
        {"ticket": "SOC-1", "comment": "user suspended", "status": "In Progress"},
    ),
]
"""(result key, verb, product, parameters): each product's steps run in order, the products
side by side; the catalog coverage test reads the verbs."""


BROKER_PACE = {
    "RAMPART_BROKER_RECONCILE_INTERVAL_S": "0.1",
    "RAMPART_BROKER_BACKOFF_S": "0.05",
    "RAMPART_BROKER_LEASE_S": "5",
    "RAMPART_BROKER_ACTION_TIMEOUT_S": "20",
}


class Products:
    """The fakes, their URLs, and the asset configurations that reach them."""

    def __init__(self, tls: LocalTls) -> None:
        self.tls = tls
        self.okta = FakeOkta()
        self.entra = FakeEntra()
        self.virustotal = FakeVirusTotal()
        self.abuseipdb = FakeAbuseIpdb(scores={"203.0.113.9": {"score": 88, "reports": 4}})
        self.splunk = FakeSplunk(
            polls_until_done=2, rows={"index=fw": [{"src": f"10.0.0.{n}"} for n in range(5)]}
        )
        self.elasticsearch = FakeElasticsearch(
            docs=[{"@timestamp": 1000 + n, "user": "ann", "n": n} for n in range(4)]
        )
        self.servicenow = FakeServiceNow()
        self.slack = FakeSlack()
        self.teams = FakeTeams()
        self.jira = FakeJira()
        self.urls: dict[str, str] = {}

    @contextlib.asynccontextmanager
    async def served(self) -> AsyncIterator[Products]:
        fakes = {
            "okta": self.okta,
            "entra": self.entra,
            "virustotal": self.virustotal,
            "abuseipdb": self.abuseipdb,
            "splunk": self.splunk,
            "elasticsearch": self.elasticsearch,
            "servicenow": self.servicenow,
            "slack": self.slack,
            "teams": self.teams,
            "jira": self.jira,
        }
        async with contextlib.AsyncExitStack() as stack:
            for name, fake in fakes.items():
                self.urls[name] = await stack.enter_async_context(serve_https(fake.app(), self.tls))
            yield self

    def configs(self) -> dict[str, tuple[str, dict[str, Any]]]:
        """Asset name → (connector, configuration)."""
        tls = {"ca_bundle": self.tls.ca_pem}
        return {
            "okta": ("okta", {"url": self.urls["okta"], "api_token": self.okta.token, "tls": tls}),
            "entra": (
                "entra",
                {
                    "tenant_id": self.entra.tenant,
                    "client_id": self.entra.client_id,
                    "client_secret": self.entra.client_secret,
                    "graph_url": self.urls["entra"],
                    "login_url": self.urls["entra"],
                    "tls": tls,
                },
            ),
            "virustotal": (
                "virustotal",
                {"url": self.urls["virustotal"], "api_key": self.virustotal.key, "tls": tls},
            ),
            "abuseipdb": (
                "abuseipdb",
                {"url": self.urls["abuseipdb"], "api_key": self.abuseipdb.key, "tls": tls},
            ),
            "splunk": (
                "splunk",
                {
                    "url": self.urls["splunk"],
                    "token": self.splunk.token,
                    "page_size": 2,
                    "poll_interval_s": 0.05,
                    "tls": tls,
                },
            ),
            "elasticsearch": (
                "elasticsearch",
                {
                    "url": self.urls["elasticsearch"],
                    "api_key": self.elasticsearch.api_key,
                    "index": self.elasticsearch.index,
                    "page_size": 3,
                    "tls": tls,
                },
            ),
            "servicenow": (
                "servicenow",
                {
                    "url": self.urls["servicenow"],
                    "username": self.servicenow.username,
                    "password": self.servicenow.password,
                    "tls": tls,
                },
            ),
            "slack": (
                "slack",
                {
                    "url": self.urls["slack"],
                    "bot_token": self.slack.bot_token,
                    "webhooks": {"soc-hook": self.urls["slack"] + self.slack.webhook_path},
                    "tls": tls,
                },
            ),
            "teams": (
                "teams",
                {
                    "webhooks": {
                        "SOC": self.urls["teams"] + self.teams.connector_path,
                        "IR": self.urls["teams"] + self.teams.workflow_path,
                    },
                    "tls": tls,
                },
            ),
            "jira": (
                "jira",
                {
                    "url": self.urls["jira"],
                    "email": self.jira.email,
                    "api_token": self.jira.api_token,
                    "project": self.jira.project,
                    "tls": tls,
                },
            ),
        }


async def make_assets(client: httpx.AsyncClient, products: Products, suffix: str) -> dict[str, str]:
    """One asset per product, without approvals (the point here is the path, not the policy)."""
    owner = await client.post("/api/v1/owners", json={"name": f"saas-{suffix}"})
    assert owner.status_code == 201, owner.text
    names = {}
    for key, (connector, config) in products.configs().items():
        name = f"{key}-{suffix}"
        made = await client.post(
            "/api/v1/assets",
            json={
                "name": name,
                "connector": connector,
                "config": config,
                "primary_owners": [owner.json()["id"]],
                "approval_policy": {"kinds": []},
            },
        )
        assert made.status_code == 201, made.text
        names[key] = name
    return names


async def finished_run(client: httpx.AsyncClient, playbook: str) -> dict[str, Any]:
    async def ended() -> dict[str, Any] | None:
        runs = (await client.get("/api/v1/runs", params={"playbook": playbook})).json()
        done = [r for r in runs if r["status"] in ("completed", "failed", "cancelled")]
        return done[0] if done else None

    return await eventually(ended, timeout=90, what=f"a {playbook} run ended")


@pytest.fixture
def local_tls(tmp_path: Path) -> LocalTls:
    return make_tls(tmp_path)


async def test_every_saas_verb_runs_through_the_broker_to_its_product(
    start_services: StartServices,
    local_tls: LocalTls,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from rampart.engine.config import EngineSettings
    from rampart.engine.spec import build_spec

    for name, value in BROKER_PACE.items():
        monkeypatch.setenv(name, value)
    suffix = uuid.uuid4().hex[:8]
    label = f"saas-{suffix}"
    playbook = f"saas_connectors_{suffix}"  # the session's database holds other tests' runs
    products = Products(local_tls)
    okta_user = products.okta.add_user("ann@example.com")
    okta_group = products.okta.add_group("quarantined")
    entra_user = products.entra.add_user("ann@contoso.com")
    vt = products.virustotal
    vt.add("ip_addresses", "203.0.113.9", malicious=9)
    vt.add("files", SHA256, malicious=0)
    vt.add("domains", "example.org", suspicious=1)
    vt.add("urls", url_id("http://evil.example/"), malicious=2)

    folder = tmp_path / "playbooks"
    folder.mkdir()
    engine = build_spec(
        config=EngineSettings(playbooks_dir=folder, sync_interval_s=0.2, timer_interval_s=0.2)
    )
    async with products.served(), start_services(replace=[engine]) as services:
        async with services.client(Role.ADMIN) as client:
            assets = await make_assets(client, products, suffix)
            steps = [(key, verb, assets[product], params) for key, verb, product, params in STEPS]
            (folder / "saas.py").write_text(
                PLAYBOOK.format(steps=json.dumps(steps), label=label, name=playbook)
            )
            await wait_loaded(client, playbook)
            posted = await client.post(
                "/api/v1/events", json={"name": "saas connectors", "labels": [label]}
            )
            assert posted.status_code == 202, posted.text
            run = await finished_run(client, playbook)
        assert run["status"] == "completed", run
        result = run["result"]
        assert set(result) == {key for key, *_ in STEPS}
        failed = {k: v["message"] for k, v in result.items() if v["status"] != "success"}
        assert not failed, failed
        data = {key: value["data"] for key, value in result.items()}
        check_products(products, data, okta_user, okta_group, entra_user)


async def wait_loaded(client: httpx.AsyncClient, name: str) -> None:
    async def loaded() -> bool:
        found = await client.get("/api/v1/playbooks")
        return found.status_code == 200 and name in found.text

    await eventually(loaded, timeout=30, what=f"playbook {name} loaded")


def check_products(
    products: Products,
    data: dict[str, Any],
    okta_user: str,
    okta_group: str,
    entra_user: str,
) -> None:
    """Each result came from its product, and each product saw the change."""
    assert data["okta disable"]["status"] == "SUSPENDED"
    assert data["okta disable"]["changed"]
    assert data["okta enable"]["status"] == "ACTIVE"
    assert products.okta.users[okta_user]["status"] == "ACTIVE"
    assert f"POST /api/v1/users/{okta_user}/lifecycle/suspend" in products.okta.requests
    assert f"POST /api/v1/users/{okta_user}/lifecycle/unsuspend" in products.okta.requests
    assert data["okta add"]["group_id"] == okta_group
    assert data["okta add"]["member"]
    assert data["okta remove"]["member"] is False
    assert f"PUT /api/v1/groups/{okta_group}/users/{okta_user}" in products.okta.requests
    assert products.okta.members[okta_group] == set()

    assert data["entra disable"]["account_enabled"] is False
    assert data["entra disable"]["sessions_revoked"] is True
    assert data["entra enable"]["account_enabled"] is True
    assert products.entra.revoked == [entra_user]
    assert products.entra.users[entra_user]["accountEnabled"] is True

    assert data["vt ip"]["verdict"] == "malicious"
    assert data["vt ip"]["malicious"] == 9
    assert data["vt hash"]["verdict"] == "clean"
    assert data["vt domain"]["verdict"] == "suspicious"
    assert data["vt url"]["verdict"] == "malicious"
    assert data["abuse ip"]["abuse_confidence_score"] == 88
    assert products.abuseipdb.queries[-1]["ipAddress"] == "203.0.113.9"

    assert [r["src"] for r in data["splunk"]["rows"]] == [f"10.0.0.{n}" for n in range(5)]
    assert products.splunk.result_requests == [(0, 2), (2, 2), (4, 2)]
    assert [h["_source"]["n"] for h in data["elastic"]["hits"]] == [3, 2, 1, 0]
    assert len(products.elasticsearch.searches) == 2
    assert products.elasticsearch.pits == set()

    assert data["sn create"]["number"] == "INC0010001"
    assert data["sn update"]["state"] == "6"
    assert [(p["via"], p["channel"]) for p in data["slack"]["sent"]] == [
        ("chat.postMessage", "C0SOC0001"),
        ("webhook", None),
    ]
    assert [(p["via"], p["text"]) for p in products.slack.posted] == [
        ("chat.postMessage", "*Contained*\nann &lt;suspended&gt;"),
        ("webhook", "*Contained*\nann &lt;suspended&gt;"),
    ]
    assert data["teams"] == {"sent": ["SOC", "IR"], "refused": {}}
    assert [(p["via"], p["channel"], p["texts"]) for p in products.teams.posted] == [
        ("connector", "SOC", ["Contained", "ann suspended"]),
        ("workflow", "IR", ["Contained", "ann suspended"]),
    ]
    assert (data["jira create"]["key"], data["jira create"]["status"]) == ("SOC-1", "To Do")
    assert data["jira update"]["status"] == "In Progress"
    issue = products.jira.issues["SOC-1"]
    assert adf_text(issue["fields"]["description"]) == "ann\n\nfrom 203.0.113.9"
    assert (issue["status"], issue["comments"]) == ("In Progress", ["user suspended"])
