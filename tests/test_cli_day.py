"""The analyst's and the approver's day through the ``rampart`` CLI, against running services.

The CLI is a synchronous program: each command runs in a thread (as a separate terminal would)
while the five services serve HTTP on the test's loop.
"""

from __future__ import annotations

import asyncio
import json
import stat
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from rampart.cli._main import app
from rampart.core.auth import Role
from tests.harness import ServiceHarness, StartServices

PACING = {
    "RAMPART_BROKER_RECONCILE_INTERVAL_S": "0.1",
    "RAMPART_BROKER_BACKOFF_S": "0.05",
    "RAMPART_BROKER_LEASE_S": "3",
    "RAMPART_BROKER_ACTION_TIMEOUT_S": "5",
}

PLAYBOOK = '''
from rampart.sdk.playbook import Context, Event, playbook


@playbook(labels=["cli-test"])
async def cli_enrich{suffix}(ctx: Context, event: Event) -> dict[str, object]:
    """Look the event's address up and note what came back."""
    result = await ctx.act("lookup ip", tag="{tag}", ip="198.51.100.4")
    await ctx.add_note(f"looked up {len(result.by_asset)} asset(s)")
    return {"assets": sorted(result.by_asset)}
'''


@pytest.fixture
async def running(
    start_services: StartServices,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> AsyncIterator[ServiceHarness]:
    for name, value in PACING.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("COLUMNS", "240")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("RAMPART_URL", raising=False)
    monkeypatch.delenv("RAMPART_TOKEN", raising=False)
    async with start_services() as services:
        yield services


async def rampart(*args: str) -> Result:
    """Run one ``rampart`` command in a thread, as a terminal next to the services would."""
    return await asyncio.to_thread(CliRunner().invoke, app, list(args))


def as_json(result: Result) -> Any:
    assert result.exit_code == 0, (result.exit_code, result.output)
    return json.loads(result.stdout)


async def test_sign_in_then_triage_close_and_push_a_playbook(
    running: ServiceHarness, tmp_path: Path
) -> None:
    url = running.url
    analyst = running.tokens[Role.ANALYST]
    admin = running.tokens[Role.ADMIN]

    wrong = await rampart("login", "--url", url, "--token", "not-a-token")
    assert wrong.exit_code == 4
    assert "401" in wrong.stderr
    signed = await rampart("login", "--url", url, "--token", analyst)
    assert signed.exit_code == 0, signed.output
    config = tmp_path / "config" / "rampart" / "config.toml"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert analyst in config.read_text()

    async with running.client(Role.ANALYST) as client:
        made = await client.post(
            "/api/v1/events",
            json={"name": "odd beacon from web-01", "source": "cli-test", "severity": "high"},
        )
    assert made.status_code == 202, made.text
    event_id = made.json()["id"]

    # Signed in: no --url, no --token from here on.
    async def listed() -> dict[str, Any] | None:
        page = as_json(await rampart("events", "ls", "--severity", "high", "--json"))
        return next((e for e in page["items"] if e["id"] == event_id), None)

    found = await running.eventually(listed)
    assert found["name"] == "odd beacon from web-01"
    table = await rampart("events", "ls", "--severity", "high")
    assert table.exit_code == 0
    assert "odd beacon" in table.stdout
    shown = await rampart("events", "show", event_id)
    assert shown.exit_code == 0
    assert "odd beacon from web-01" in shown.stdout

    closed = await rampart("events", "close", event_id, "--resolution", "false positive")
    assert closed.exit_code == 0, closed.output
    async with running.client(Role.ANALYST) as client:
        stored = (await client.get(f"/api/v1/events/{event_id}")).json()
    assert (stored["status"], stored["resolution"]) == ("closed", "false positive")

    bad = await rampart("events", "close", event_id, "--resolution", "")
    assert bad.exit_code == 1
    assert "resolution" in bad.stderr
    missing = await rampart("events", "show", "00000000-0000-0000-0000-000000000000")
    assert missing.exit_code == 1
    assert "404" in missing.stderr

    source = tmp_path / "cli_enrich.py"
    source.write_text(PLAYBOOK.replace("{suffix}", "").replace("{tag}", "cli-intel"))
    refused = await rampart("playbooks", "push", str(source))
    assert refused.exit_code == 4, refused.output  # an analyst may not upload code
    pushed = as_json(await rampart("playbooks", "push", str(source), "--token", admin, "--json"))
    assert [(p["name"], p["active"]) for p in pushed] == [("cli_enrich", True)]
    off = await rampart("playbooks", "activate", "cli_enrich", "--off", "--token", admin)
    assert off.exit_code == 0, off.output
    rows = as_json(await rampart("playbooks", "ls", "--json"))
    assert {r["name"]: r["active"] for r in rows}["cli_enrich"] is False

    unreachable = await rampart("events", "ls", "--url", "http://127.0.0.1:9")
    assert unreachable.exit_code == 3
    assert "cannot reach Rampart" in unreachable.stderr


async def test_assets_actions_and_an_approval_from_the_terminal(
    running: ServiceHarness, tmp_path: Path
) -> None:
    url, admin = running.url, running.tokens[Role.ADMIN]
    common = ("--url", url, "--token", admin)
    tag = f"cli-intel-{uuid.uuid4().hex[:6]}"
    async with running.client(Role.ADMIN) as client:
        owner = (await client.post("/api/v1/owners", json={"name": f"cli-web-team-{tag}"})).json()
        approver = (await client.post(f"/api/v1/owners/{owner['id']}/approver-tokens")).json()
    definitions = [
        {
            "name": f"{tag}-{n}",
            "connector": "noop",
            "config": {},
            "tags": [tag],
            "primary_owners": [owner["id"]],
        }
        for n in (1, 2)
    ]
    file = tmp_path / "assets.json"
    file.write_text(json.dumps(definitions))
    added = as_json(await rampart("assets", "add", str(file), "--json", *common))
    assert sorted(a["name"] for a in added) == [f"{tag}-1", f"{tag}-2"]
    again = await rampart("assets", "add", str(file), *common)
    assert again.exit_code == 1
    assert "definition 0" in again.stderr
    listed = as_json(await rampart("assets", "ls", "--tag", tag, "--json", *common))
    assert len(listed) == 2

    tested = as_json(await rampart("assets", "test", added[0]["id"], "--json", *common))
    assert [r["status"] for r in tested] == ["success"]

    looked = as_json(
        await rampart(
            "actions",
            "run",
            "lookup ip",
            "ip=203.0.113.9",
            "--tag",
            tag,
            "--wait",
            "--json",
            *common,
        )
    )
    assert sorted((r["asset"], r["status"]) for r in looked["runs"]) == [
        (f"{tag}-1", "success"),
        (f"{tag}-2", "success"),
    ]
    one = as_json(await rampart("actions", "show", looked["runs"][0]["id"], "--json", *common))
    assert one["params"] == {"ip": "203.0.113.9"}
    assert one["attempts"][0]["outcome"] == "success"
    invalid = await rampart("actions", "run", "lookup ip", "ip=ten", "--asset", f"{tag}-1", *common)
    assert invalid.exit_code == 1
    assert "params.ip" in invalid.stderr
    usage = await rampart("actions", "run", "lookup ip", "ip=1.2.3.4", *common)
    assert usage.exit_code == 2

    suffix = tag.rpartition("-")[2]
    source = tmp_path / "enrich.py"
    source.write_text(PLAYBOOK.replace("{suffix}", f"_{suffix}").replace("{tag}", tag))
    pushed = as_json(
        await rampart("playbooks", "push", str(source), "--inactive", "--json", *common)
    )
    name = pushed[0]["name"]
    async with running.client(Role.ANALYST) as client:
        made = await client.post("/api/v1/events", json={"name": "for the playbook", "source": tag})
    event_id = made.json()["id"]
    ran = as_json(await rampart("playbooks", "test", name, "--event", event_id, "--json", *common))
    assert ran["status"] == "completed", ran
    assert ran["result"] == {"assets": sorted([f"{tag}-1", f"{tag}-2"])}

    gated = as_json(
        await rampart(
            "actions",
            "run",
            "block ip",
            "ip=203.0.113.66",
            "--asset",
            f"{tag}-1",
            "--json",
            *common,
        )
    )
    run_id = gated["runs"][0]["id"]
    as_owner = ("--url", url, "--token", approver["token"])

    async def waiting() -> dict[str, Any] | None:
        mine = as_json(await rampart("approvals", "ls", "--json", *as_owner))
        return next((a for a in mine if a["action_run_id"] == run_id), None)

    approval = await running.eventually(waiting)
    assert approval["params"] == {"ip": "203.0.113.66"}
    not_theirs = await rampart("approvals", "approve", approval["id"], *common)
    assert not_theirs.exit_code in (1, 4)
    decided = await rampart("approvals", "approve", approval["id"], "--comment", "go", *as_owner)
    assert decided.exit_code == 0, decided.output
    assert "approved" in decided.stderr

    async def finished() -> dict[str, Any] | None:
        run = as_json(await rampart("actions", "show", run_id, "--json", *common))
        return run if run["status"] == "success" else None

    done = await running.eventually(finished)
    assert done["decided_by"]
    twice = await rampart("approvals", "deny", approval["id"], *as_owner)
    assert twice.exit_code == 1
    assert "409" in twice.stderr


async def test_sources_from_the_terminal(running: ServiceHarness) -> None:
    common = ("--url", running.url, "--token", running.tokens[Role.ADMIN])
    name = f"cli-src-{uuid.uuid4().hex[:6]}"
    added = as_json(
        await rampart(
            "sources", "add", name, "--kind", "splunk", "--label", "cli", "--json", *common
        )
    )
    assert (added["name"], added["default_labels"]) == (name, ["cli"])
    shown = await rampart("sources", "add", f"{name}-b", "--kind", "splunk", *common)
    assert shown.exit_code == 0, shown.output
    assert f"{running.url}{added['webhook_path'].replace(name, name + '-b')}" in shown.stderr
    assert len(shown.stdout.strip()) >= 16  # the secret alone on stdout, for a script to keep
    twice = await rampart("sources", "add", name, "--kind", "splunk", *common)
    assert twice.exit_code == 1
    assert "409" in twice.stderr
    wrong_kind = await rampart("sources", "add", f"{name}-c", "--kind", "no-such-siem", *common)
    assert wrong_kind.exit_code == 1
    assert "kind" in wrong_kind.stderr

    listed = as_json(await rampart("sources", "ls", "--json", *common))
    assert name in {s["name"] for s in listed}
    table = await rampart("sources", "ls", *common)
    assert table.exit_code == 0
    assert name in table.stdout

    rotated = as_json(await rampart("sources", "rotate", name, "--json", *common))
    assert rotated["secret"] != added["secret"]
    assert rotated["previous_expire_at"]
    unknown = await rampart("sources", "rotate", f"{name}-none", *common)
    assert unknown.exit_code == 1
    assert "404" in unknown.stderr


def test_shell_completion_names_the_days_commands() -> None:
    def complete(words: str) -> list[str]:
        env = {
            "_RAMPART_COMPLETE": "complete_bash",
            "COMP_WORDS": words,
            "COMP_CWORD": str(len(words.split()) - (0 if words.endswith(" ") else 1)),
        }
        result = CliRunner().invoke(app, [], env=env, prog_name="rampart")
        assert result.exit_code == 0, result.output
        return result.stdout.split()

    assert {"events", "approvals", "playbooks", "actions", "assets", "sources"} <= set(
        complete("rampart ")
    )
    assert complete("rampart sources r") == ["rotate"]
    assert set(complete("rampart approvals ")) == {"ls", "approve", "deny"}


async def test_an_approver_denies_from_the_terminal(running: ServiceHarness) -> None:
    common = ("--url", running.url, "--token", running.tokens[Role.ADMIN])
    suffix = uuid.uuid4().hex[:6]
    async with running.client(Role.ADMIN) as client:
        owner = (await client.post("/api/v1/owners", json={"name": f"cli-deny-{suffix}"})).json()
        approver = (await client.post(f"/api/v1/owners/{owner['id']}/approver-tokens")).json()
        made = await client.post(
            "/api/v1/assets",
            json={
                "name": f"deny-{suffix}",
                "connector": "noop",
                "config": {},
                "primary_owners": [owner["id"]],
            },
        )
        assert made.status_code == 201, made.text
    gated = as_json(
        await rampart(
            "actions",
            "run",
            "block ip",
            "ip=203.0.113.7",
            "--asset",
            f"deny-{suffix}",
            "--json",
            *common,
        )
    )
    run_id = gated["runs"][0]["id"]
    as_owner = ("--url", running.url, "--token", approver["token"])

    async def waiting() -> dict[str, Any] | None:
        mine = as_json(await rampart("approvals", "ls", "--json", *as_owner))
        return next((a for a in mine if a["action_run_id"] == run_id), None)

    approval = await running.eventually(waiting)
    denied = as_json(
        await rampart(
            "approvals", "deny", approval["id"], "--comment", "not that host", "--json", *as_owner
        )
    )
    assert (denied["id"], denied["status"]) == (approval["id"], "denied")
    history = as_json(
        await rampart("approvals", "ls", "--all", "--status", "denied", "--json", *common)
    )
    assert approval["id"] in {a["id"] for a in history}
    run = as_json(await rampart("actions", "show", run_id, "--json", *common))
    assert run["status"] != "success"
