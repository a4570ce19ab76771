"""Secrets go only where they were given for: changing an asset's host, port or user drops
the stored secrets unless the same change gives them again."""

from __future__ import annotations

import base64
from typing import Any

from rampart.connectors.ssh import SshConfig
from rampart.core.auth import Role
from rampart.core.crypto import open_json
from rampart.sdk.connector import destination_fields


async def _sealed(registry: Any, asset_id: str) -> dict[str, Any]:
    sealed = await registry.client.get(
        f"/api/v1/assets/{asset_id}/sealed-config", headers=registry.services.headers(Role.SERVICE)
    )
    assert sealed.status_code == 200, sealed.text
    opened: dict[str, Any] = open_json(
        base64.b64decode(sealed.json()["sealed"]),
        keyring=registry.keyring,
        associated_data=sealed.json()["associated_data"].encode(),
    )
    return opened


def test_an_ssh_assets_secrets_go_to_its_host_port_and_user() -> None:
    assert sorted(destination_fields(SshConfig)) == ["host", "port", "username"]


async def test_a_new_host_port_or_user_needs_the_secrets_again(
    registry: Any, ssh_keys: dict[str, str]
) -> None:
    admin = registry.services.headers(Role.ADMIN)
    owner = (
        await registry.client.post("/api/v1/owners", json={"name": "mover"}, headers=admin)
    ).json()
    public = {"host": "192.0.2.10", "username": "rampart", "host_key": ssh_keys["host_key"]}
    created = await registry.client.post(
        "/api/v1/assets",
        json={
            "name": "moving-01",
            "connector": "ssh",
            "config": {**public, "password": "pw-original"},
            "primary_owners": [owner["id"]],
        },
        headers=admin,
    )
    assert created.status_code == 201, created.text
    asset_id = created.json()["id"]

    async def patch(config: dict[str, Any]) -> Any:
        return await registry.client.patch(
            f"/api/v1/assets/{asset_id}", json={"config": config}, headers=admin
        )

    # another setting: the stored password stays
    same_place = await patch({**public, "dump_dir": "/var/tmp/dumps"})
    assert same_place.status_code == 200, same_place.text
    assert (await _sealed(registry, asset_id))["password"] == "pw-original"
    for moved in ({"host": "198.51.100.99"}, {"port": 2222}, {"username": "someone-else"}):
        refused = await patch({**public, **moved})
        assert refused.status_code == 422, (moved, refused.text)
        assert "password" in refused.text or "private_key" in refused.text
        stored = await _sealed(registry, asset_id)
        assert (stored["host"], stored["port"], stored["username"]) == ("192.0.2.10", 22, "rampart")
    given_again = await patch({**public, "host": "198.51.100.99", "password": "pw-new"})
    assert given_again.status_code == 200, given_again.text
    stored = await _sealed(registry, asset_id)
    assert (stored["host"], stored["password"]) == ("198.51.100.99", "pw-new")
