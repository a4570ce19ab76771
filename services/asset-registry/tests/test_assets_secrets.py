"""Asset secrets stay secret: no API response, log line, database column or bus message
carries one in plain text, yet the sealed configuration still holds them all."""

from __future__ import annotations

import base64
import io
import uuid
from typing import Any

import asyncssh

from rampart.core.auth import Role
from rampart.core.crypto import open_json


def _forms(secret: str) -> list[str]:
    """The ways a leaked value could appear: as text, as bytea hex, as base64."""
    raw = secret.encode()
    return [secret, raw.hex(), base64.b64encode(raw).decode().rstrip("=")]


async def test_no_secret_in_responses_logs_columns_or_messages(
    log_lines: io.StringIO, registry: Any
) -> None:
    pool = registry.services.pool
    admin = registry.services.headers(Role.ADMIN)
    password = f"pw-{uuid.uuid4().hex}"
    rotated = f"pw2-{uuid.uuid4().hex}"
    passphrase = f"pp-{uuid.uuid4().hex}"
    api_token = f"tok-{uuid.uuid4().hex}"
    key = asyncssh.generate_private_key("ssh-ed25519")
    private_key = key.export_private_key("pkcs8-pem", passphrase=passphrase).decode()
    key_body = "".join(private_key.strip().splitlines()[1:-1])
    bogus_key = f"-----BEGIN OPENSSH PRIVATE KEY-----\nbogus{uuid.uuid4().hex}\n-----END"
    host_key = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode()
    secrets = [
        password,
        rotated,
        passphrase,
        api_token,
        key_body[:48],
        key_body[-48:],
        bogus_key[36:],
    ]

    owner = (
        await registry.client.post("/api/v1/owners", json={"name": "keeper"}, headers=admin)
    ).json()
    config = {
        "host": "192.0.2.10",
        "username": "rampart",
        "host_key": host_key,
        "private_key": private_key,
        "private_key_passphrase": passphrase,
        "password": password,
    }
    body = {
        "name": "vault-01",
        "connector": "ssh",
        "config": config,
        "primary_owners": [owner["id"]],
    }
    created = await registry.client.post("/api/v1/assets", json=body, headers=admin)
    assert created.status_code == 201, created.text
    asset_id = created.json()["id"]
    assert created.json()["secrets"] == {
        "private_key": True,
        "private_key_passphrase": True,
        "password": True,
    }
    rejected = [
        {**body, "name": "bad-port", "config": {**config, "port": "twenty-two"}},
        {**body, "name": "bad-key", "config": {**config, "private_key": bogus_key}},
        {**body, "name": "bad-pass", "config": {**config, "private_key_passphrase": "wrong"}},
        {**body, "name": "bad-field", "config": {**config, "token": api_token}},
    ]
    for bad in rejected:
        response = await registry.client.post("/api/v1/assets", json=bad, headers=admin)
        assert response.status_code == 422, response.text
    rotate = {k: v for k, v in config.items() if k not in ("private_key", "private_key_passphrase")}
    patched = await registry.client.patch(
        f"/api/v1/assets/{asset_id}",
        json={"config": {**rotate, "password": rotated}},
        headers=admin,
    )
    assert patched.status_code == 200, patched.text
    listed = await registry.client.post(
        "/api/v1/assets",
        json={
            "name": "intel",
            "connector": "static-list",
            "config": {"networks": [], "api_token": api_token},
            "primary_owners": [owner["id"]],
        },
        headers=admin,
    )
    assert listed.status_code == 201
    for role in (Role.ADMIN, Role.ANALYST, Role.SERVICE):
        assert (
            await registry.client.get("/api/v1/assets", headers=registry.services.headers(role))
        ).status_code == 200
        one = await registry.client.get(
            f"/api/v1/assets/{asset_id}", headers=registry.services.headers(role)
        )
        assert one.status_code == 200
    assert (
        await registry.client.get("/api/v1/assets?action=block%20ip", headers=admin)
    ).status_code == 200
    assert (await registry.client.get("/api/v1/apps/ssh", headers=admin)).status_code == 200
    sealed = await registry.client.get(
        f"/api/v1/assets/{asset_id}/sealed-config", headers=registry.services.headers(Role.SERVICE)
    )
    assert sealed.status_code == 200
    # the outbox relay published what was stored
    await registry.captured.wait_for("owner.created")
    await registry.captured.wait_for("asset.created", 2)
    await registry.captured.wait_for("asset.updated")

    # The values were really stored: the sealed configuration opens to all of them.
    opened = open_json(
        base64.b64decode(sealed.json()["sealed"]),
        keyring=registry.keyring,
        associated_data=sealed.json()["associated_data"].encode(),
    )
    assert (opened["password"], opened["private_key_passphrase"]) == (rotated, passphrase)
    assert opened["private_key"] == private_key

    responses = "\n".join(registry.responses)
    logs = log_lines.getvalue()
    assert len(registry.responses) >= 15
    assert "connectors loaded" in logs, "logs were not captured: the check would prove nothing"
    tables = await pool.fetch(
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_type = 'BASE TABLE' "
        "AND table_schema NOT IN ('pg_catalog', 'information_schema')"
    )
    assert any(t["table_schema"] == "assets" and t["table_name"] == "assets" for t in tables)
    columns = []
    for table in tables:
        rows = await pool.fetch(f'SELECT t::text AS row FROM "{table[0]}"."{table[1]}" t')
        columns.extend(r["row"] for r in rows)
    stored = "\n".join(columns)
    assert "vault-01" in stored
    messages = "\n".join(d.envelope.to_bytes().decode() for d in registry.captured.deliveries)
    assert "vault-01" in messages
    for secret in secrets:
        for form in _forms(secret):
            assert form not in responses, "a secret reached an API response"
            assert form not in logs, "a secret reached a log line"
            assert form not in stored, "a secret is stored in plain text"
            assert form not in messages, "a secret reached a bus message"
