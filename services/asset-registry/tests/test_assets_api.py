"""The asset registry over HTTP in the embedded app: catalog, apps, owners, assets, errors."""

from __future__ import annotations

import asyncio
import base64
from typing import Any
from uuid import uuid4

import pytest

from rampart.core.auth import Role
from rampart.core.crypto import open_json
from rampart.sdk.catalog import CATALOG
from tests.harness import memory_only

PROBLEM = "application/problem+json"


async def _owner(reg: Any, name: str, **fields: Any) -> dict[str, Any]:
    response = await reg.client.post(
        "/api/v1/owners", json={"name": name, **fields}, headers=reg.services.headers(Role.ADMIN)
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def _ssh_asset(name: str, owner: str, keys: dict[str, str], **fields: Any) -> dict[str, Any]:
    return {
        "name": name,
        "connector": "ssh",
        "config": {
            "host": "10.20.30.40",
            "username": "rampart",
            "use_sudo": True,
            "host_key": keys["host_key"],
            "private_key": keys["private_key"],
        },
        "tags": ["linux", "dmz"],
        "primary_owners": [owner],
        **fields,
    }


def _problem(response: Any, status: int, field: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["errors"][0]["field"] == field, body
    assert body["detail"].startswith(field)


@memory_only
async def test_action_catalog(registry: Any) -> None:
    analyst = registry.services.headers(Role.ANALYST)
    listed = await registry.client.get("/api/v1/actions", headers=analyst)
    assert listed.status_code == 200
    by_name = {a["name"]: a for a in listed.json()}
    assert set(by_name) == set(CATALOG)
    block = by_name["block ip"]
    assert block["kind"] == "contain"
    assert block["undo"] == "unblock ip"
    assert block["contains"] == {"ip": ["ip"]}
    assert block["parameters"]["required"] == ["ip"]
    assert block["apps"] == ["ssh"]
    assert by_name["lookup ip"]["apps"] == ["static-list"]
    assert by_name["test connectivity"]["apps"] == ["ssh", "static-list"]
    one = await registry.client.get("/api/v1/actions/get%20process%20dump", headers=analyst)
    assert one.json()["contains"] == {"pid": ["process id"]}
    contain = await registry.client.get("/api/v1/actions?kind=contain", headers=analyst)
    assert {a["name"] for a in contain.json()} == {
        "block ip",
        "block domain",
        "suspend vm",
        "isolate host",
        "disable user",
        "block url",
        "block hash",
        "quarantine file",
    }
    missing = await registry.client.get("/api/v1/actions/frobnicate", headers=analyst)
    assert missing.status_code == 404
    assert missing.headers["content-type"] == PROBLEM
    service = await registry.client.get(
        "/api/v1/actions", headers=registry.services.headers(Role.SERVICE)
    )
    assert service.status_code == 200


@memory_only
async def test_apps_catalog_shows_products_outputs_and_secret_fields(registry: Any) -> None:
    analyst = registry.services.headers(Role.ANALYST)
    apps = {
        a["name"]: a for a in (await registry.client.get("/api/v1/apps", headers=analyst)).json()
    }
    assert set(apps) == {"ssh", "static-list"}
    ssh = apps["ssh"]
    assert (ssh["vendor"], ssh["product"]) == ("OpenSSH", "Linux host")
    assert ssh["secret_fields"] == ["private_key", "private_key_passphrase", "password"]
    assert ssh["has_widget"] is True
    schema = ssh["config_schema"]["properties"]
    assert schema["private_key"]["anyOf"][0]["writeOnly"] is True
    actions = {a["name"]: a for a in ssh["actions"]}
    assert set(actions) == {
        "block ip",
        "unblock ip",
        "get process dump",
        "terminate process",
        "list processes",
        "run script",
        "get file",
        "test connectivity",
    }
    assert actions["list processes"]["has_widget"] is True
    assert "sha256" in str(actions["get process dump"]["output"])
    one = await registry.client.get("/api/v1/apps/static-list", headers=analyst)
    assert one.json()["secret_fields"] == ["api_token"]
    assert one.json()["actions"][0]["name"] == "lookup ip"
    assert (await registry.client.get("/api/v1/apps/nope", headers=analyst)).status_code == 404


@memory_only
async def test_an_owner_is_found_by_its_name(registry: Any) -> None:
    service = registry.services.headers(Role.SERVICE)
    carol = await _owner(registry, "carol", email="carol@example.com")
    team = await _owner(registry, "carol's team", kind="group", members=[carol["id"]])
    await _owner(registry, "carola")

    async def named(name: str) -> list[str]:
        found = await registry.client.get("/api/v1/owners", params={"name": name}, headers=service)
        assert found.status_code == 200, found.text
        return [o["id"] for o in found.json()]

    assert await named("carol") == [carol["id"]]
    assert await named("carol's team") == [team["id"]]
    assert await named("Carol") == []
    _problem(
        await registry.client.get("/api/v1/owners", params={"name": ""}, headers=service),
        422,
        "query.name",
    )


async def test_owners_people_groups_and_approver_tokens(registry: Any) -> None:
    pool = registry.services.pool
    admin = registry.services.headers(Role.ADMIN)
    alice = await _owner(registry, "alice", email="alice@example.com")
    bob = await _owner(registry, "bob", webhook_url="https://chat.example/hooks/bob")
    team = await _owner(registry, "linux-team", kind="group", members=[alice["id"], bob["id"]])
    assert sorted(team["members"]) == sorted([alice["id"], bob["id"]])
    got = await registry.client.get(
        f"/api/v1/owners/{alice['id']}", headers=registry.services.headers(Role.SERVICE)
    )
    assert got.json()["member_of"] == [team["id"]]

    _problem(
        await registry.client.post("/api/v1/owners", json={"name": "alice"}, headers=admin),
        409,
        "body.name",
    )
    _problem(
        await registry.client.post(
            "/api/v1/owners", json={"name": "x", "members": [alice["id"]]}, headers=admin
        ),
        422,
        "body.members",
    )
    _problem(
        await registry.client.post(
            "/api/v1/owners",
            json={"name": "y", "kind": "group", "members": [alice["id"], team["id"]]},
            headers=admin,
        ),
        422,
        "body.members.1",
    )
    _problem(
        await registry.client.post(
            "/api/v1/owners", json={"name": "z", "email": "nope"}, headers=admin
        ),
        422,
        "body.email",
    )
    _problem(
        await registry.client.post(
            "/api/v1/owners", json={"name": "z", "webhook_url": "ftp://x"}, headers=admin
        ),
        422,
        "body.webhook_url",
    )

    changed = await registry.client.patch(
        f"/api/v1/owners/{alice['id']}",
        json={"email": None, "description": "on call"},
        headers=admin,
    )
    assert changed.status_code == 200
    assert (changed.json()["email"], changed.json()["description"]) == (None, "on call")
    members = await registry.client.patch(
        f"/api/v1/owners/{team['id']}", json={"members": [bob["id"]]}, headers=admin
    )
    assert members.json()["members"] == [bob["id"]]

    issued = await registry.client.post(
        f"/api/v1/owners/{bob['id']}/approver-tokens", headers=admin
    )
    assert issued.status_code == 201
    token = issued.json()["token"]
    row = await pool.fetchrow(
        "SELECT role, subject FROM auth.tokens WHERE id = $1",
        uuid4().__class__(issued.json()["token_id"]),
    )
    assert (row["role"], row["subject"]) == ("approver", bob["id"])
    as_approver = await registry.client.get(
        "/api/v1/owners", headers={"Authorization": f"Bearer {token}"}
    )
    assert as_approver.status_code == 403
    group_token = await registry.client.post(
        f"/api/v1/owners/{team['id']}/approver-tokens", headers=admin
    )
    assert group_token.status_code == 422
    listed = await registry.client.get(
        "/api/v1/owners", headers=registry.services.headers(Role.ANALYST)
    )
    assert token not in listed.text

    deleted = await registry.client.delete(f"/api/v1/owners/{bob['id']}", headers=admin)
    assert deleted.status_code == 204
    after = await registry.client.get(f"/api/v1/owners/{team['id']}", headers=admin)
    assert after.json()["members"] == []
    await registry.captured.wait_for("owner.deleted")
    updated = registry.captured.of("owner.updated")
    assert any(
        m.owner_id.hex == team["id"].replace("-", "") and m.fields == ["members"] for m in updated
    )
    created = {m.name: m.kind for m in registry.captured.of("owner.created")}
    assert created == {"alice": "person", "bob": "person", "linux-team": "group"}


async def test_assets_crud_search_and_messages(registry: Any, ssh_keys: dict[str, str]) -> None:
    admin, analyst = registry.services.headers(Role.ADMIN), registry.services.headers(Role.ANALYST)
    owner = await _owner(registry, "ops")
    boss = await _owner(registry, "ciso")
    body = _ssh_asset(
        "web-01",
        owner["id"],
        ssh_keys,
        executive_approvers=[boss["id"]],
        approval_policy={"approvals_required": 2, "sla_minutes": {"primary": 15}},
        concurrency_limit=2,
    )
    created = await registry.client.post("/api/v1/assets", json=body, headers=admin)
    assert created.status_code == 201, created.text
    asset = created.json()
    assert created.headers["location"] == f"/api/v1/assets/{asset['id']}"
    assert asset["config"]["host"] == "10.20.30.40"
    assert "private_key" not in asset["config"]
    assert asset["secrets"] == {
        "private_key": True,
        "private_key_passphrase": False,
        "password": False,
    }
    assert asset["primary_owners"] == [owner["id"]]
    assert asset["executive_approvers"] == [boss["id"]]
    assert asset["approval_policy"]["kinds"] == ["contain", "correct"]
    assert asset["approval_policy"]["approvals_required"] == 2
    assert asset["approval_policy"]["sla_minutes"] == {
        "primary": 15,
        "secondary": 30,
        "executive": 60,
    }
    assert asset["concurrency_limit"] == 2
    lists = await registry.client.post(
        "/api/v1/assets",
        json={
            "name": "threat-list",
            "connector": "static-list",
            "config": {"networks": ["203.0.113.0/24"]},
            "tags": ["intel"],
            "primary_owners": [owner["id"]],
        },
        headers=admin,
    )
    assert lists.status_code == 201, lists.text

    async def names(query: str) -> list[str]:
        response = await registry.client.get(f"/api/v1/assets{query}", headers=analyst)
        assert response.status_code == 200, response.text
        return [a["name"] for a in response.json()]

    assert await names("") == ["threat-list", "web-01"]
    assert await names("?action=block%20ip") == ["web-01"]
    assert await names("?action=lookup%20ip") == ["threat-list"]
    assert await names("?action=test%20connectivity") == ["threat-list", "web-01"]
    assert await names("?action=suspend%20vm") == []
    assert await names("?product=linux%20HOST") == ["web-01"]
    assert await names("?tag=intel") == ["threat-list"]
    assert await names("?name=web-01&tag=dmz&action=block%20ip") == ["web-01"]
    assert await names("?name=web-01&tag=intel") == []
    _problem(
        await registry.client.get("/api/v1/assets?action=frobnicate", headers=analyst),
        422,
        "query.action",
    )

    patched = await registry.client.patch(
        f"/api/v1/assets/{asset['id']}",
        json={
            "tags": ["linux"],
            "secondary_owners": [boss["id"]],
            "config": {
                **{k: v for k, v in body["config"].items() if k != "private_key"},
                # not where the secret is sent (host, port, user): the secret stays
                "command_timeout_s": 42,
            },
        },
        headers=admin,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["tags"] == ["linux"]
    assert patched.json()["config"]["command_timeout_s"] == 42
    assert patched.json()["secrets"]["private_key"] is True, "a secret left out must be kept"
    assert patched.json()["secondary_owners"] == [boss["id"]]
    assert patched.json()["primary_owners"] == [owner["id"]]

    sealed = await registry.client.get(
        f"/api/v1/assets/{asset['id']}/sealed-config",
        headers=registry.services.headers(Role.SERVICE),
    )
    assert sealed.status_code == 200
    opened = open_json(
        base64.b64decode(sealed.json()["sealed"]),
        keyring=registry.keyring,
        associated_data=sealed.json()["associated_data"].encode(),
    )
    assert opened["private_key"] == ssh_keys["private_key"]
    assert opened["command_timeout_s"] == 42
    assert (
        await registry.client.get(f"/api/v1/assets/{asset['id']}/sealed-config", headers=analyst)
    ).status_code == 403

    await registry.captured.wait_for("asset.updated")
    assert registry.captured.of("asset.updated")[0].fields == ["config", "secondary_owners", "tags"]
    created_messages = registry.captured.of("asset.created")
    assert [(m.name, m.connector) for m in created_messages] == [
        ("web-01", "ssh"),
        ("threat-list", "static-list"),
    ]
    assert created_messages[0].tags == ["linux", "dmz"]

    in_use = await registry.client.delete(f"/api/v1/owners/{boss['id']}", headers=admin)
    assert in_use.status_code == 409
    assert in_use.json()["assets"] == ["web-01"]
    gone = await registry.client.delete(f"/api/v1/assets/{asset['id']}", headers=admin)
    assert gone.status_code == 204
    assert (
        await registry.client.get(f"/api/v1/assets/{asset['id']}", headers=analyst)
    ).status_code == 404
    assert (
        await registry.client.delete(f"/api/v1/owners/{boss['id']}", headers=admin)
    ).status_code == 204
    await registry.captured.wait_for("asset.deleted")
    assert registry.captured.of("asset.deleted")[0].name == "web-01"


async def test_an_approval_stage_may_be_seconds_long(
    registry: Any, ssh_keys: dict[str, str]
) -> None:
    admin = registry.services.headers(Role.ADMIN)
    owner = await _owner(registry, "drill")
    policy = {"actions": ["terminate process"], "sla_minutes": {"primary": 0.1, "secondary": 1.5}}
    body = _ssh_asset("drill-01", owner["id"], ssh_keys, approval_policy=policy)
    made = await registry.client.post("/api/v1/assets", json=body, headers=admin)
    assert made.status_code == 201, made.text
    shown = await registry.client.get(f"/api/v1/assets/{made.json()['id']}", headers=admin)
    assert shown.json()["approval_policy"]["sla_minutes"] == {
        "primary": 0.1,
        "secondary": 1.5,
        "executive": 60,
    }


async def test_bad_input_is_refused_naming_the_field_and_nothing_is_stored(
    registry: Any, ssh_keys: dict[str, str]
) -> None:
    pool = registry.services.pool
    admin = registry.services.headers(Role.ADMIN)
    owner = await _owner(registry, "owner-of-bad")
    good = _ssh_asset("db-01", owner["id"], ssh_keys)
    assert (
        await registry.client.post("/api/v1/assets", json=good, headers=admin)
    ).status_code == 201
    await registry.captured.wait_for("asset.created")
    before = await pool.fetchval("SELECT count(*) FROM assets.assets")

    async def refused(body: dict[str, Any], status: int, field: str) -> None:
        _problem(
            await registry.client.post("/api/v1/assets", json=body, headers=admin), status, field
        )

    await refused({**good, "name": "x1", "connector": "frobnicator"}, 422, "body.connector")
    # a stage may be a fraction of a minute, but not under a second
    under_a_second = {"sla_minutes": {"primary": 0.01}}
    await refused(
        {**good, "name": "x1b", "approval_policy": under_a_second},
        422,
        "body.approval_policy.sla_minutes.primary",
    )
    await refused(
        {**good, "name": "x2", "config": {**good["config"], "port": 70000}}, 422, "body.config.port"
    )
    await refused(
        {**good, "name": "x3", "config": {**good["config"], "colour": "red"}},
        422,
        "body.config.colour",
    )
    no_credentials = {k: v for k, v in good["config"].items() if k != "private_key"}
    await refused({**good, "name": "x4", "config": no_credentials}, 422, "body.config")
    await refused(
        {**good, "name": "x5", "primary_owners": [str(uuid4())]}, 422, "body.primary_owners.0"
    )
    await refused(
        {**good, "name": "x6", "secondary_owners": [owner["id"], str(uuid4())]},
        422,
        "body.secondary_owners.1",
    )
    await refused({**good, "name": "x7", "primary_owners": []}, 422, "body.primary_owners")
    await refused({**good}, 409, "body.name")
    await refused(
        {**good, "name": "x8", "approval_policy": {"actions": ["suspend vm"]}},
        422,
        "body.approval_policy.actions.0",
    )
    await refused(
        {**good, "name": "x9", "approval_policy": {"actions": ["frobnicate"]}},
        422,
        "body.approval_policy.actions",
    )
    await refused({**good, "name": "bad name!"}, 422, "body.name")
    await refused({**good, "name": "x10", "concurrency_limit": 0}, 422, "body.concurrency_limit")
    asset_id = (await registry.client.get("/api/v1/assets?name=db-01", headers=admin)).json()[0][
        "id"
    ]
    _problem(
        await registry.client.patch(
            f"/api/v1/assets/{asset_id}", json={"connector": "static-list"}, headers=admin
        ),
        422,
        "body.connector",
    )
    _problem(
        await registry.client.patch(
            f"/api/v1/assets/{asset_id}",
            json={"config": {**good["config"], "port": "ssh"}},
            headers=admin,
        ),
        422,
        "body.config.port",
    )
    missing = await registry.client.patch(
        f"/api/v1/assets/{uuid4()}", json={"tags": []}, headers=admin
    )
    assert missing.status_code == 404

    await asyncio.sleep(0.3)  # room for a wrongly published message to arrive
    # and a later message through the same outbox arriving means any such one arrived before
    await _owner(registry, "after-the-bad-input")
    await registry.captured.wait_for("owner.created", 2)
    assert await pool.fetchval("SELECT count(*) FROM assets.assets") == before
    assert [m.name for m in registry.captured.of("asset.created")] == ["db-01"]
    assert registry.captured.of("asset.updated") == []
    stored = await registry.client.get(f"/api/v1/assets/{asset_id}", headers=admin)
    assert stored.json()["config"]["port"] == 22


@memory_only
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/assets"),
        ("GET", "/api/v1/owners"),
        ("GET", "/api/v1/apps"),
        ("GET", "/api/v1/actions"),
    ],
)
async def test_reads_need_analyst_or_service(registry: Any, method: str, path: str) -> None:
    assert (await registry.client.request(method, path)).status_code == 401
    bad = {"Authorization": "Bearer rmp_not-a-token"}
    assert (await registry.client.request(method, path, headers=bad)).status_code == 401
    for role, status in (
        (Role.ANALYST, 200),
        (Role.SERVICE, 200),
        (Role.ADMIN, 200),
        (Role.APPROVER, 403),
        (Role.INGEST, 403),
    ):
        response = await registry.client.request(
            method, path, headers=registry.services.headers(role)
        )
        assert response.status_code == status, (role, response.text)


@memory_only
async def test_writes_need_admin(registry: Any, ssh_keys: dict[str, str]) -> None:
    owner = await _owner(registry, "writes")
    for role in (Role.ANALYST, Role.SERVICE, Role.APPROVER, Role.INGEST):
        headers = registry.services.headers(role)
        denied = await registry.client.post(
            "/api/v1/owners", json={"name": f"n-{role}"}, headers=headers
        )
        assert denied.status_code == 403
        asset = _ssh_asset(f"a-{role}", owner["id"], ssh_keys)
        assert (
            await registry.client.post("/api/v1/assets", json=asset, headers=headers)
        ).status_code == 403
        assert (
            await registry.client.delete(f"/api/v1/owners/{owner['id']}", headers=headers)
        ).status_code == 403
