"""An asset's configuration at rest: sealed whole and bound to its asset, shown without secrets."""

from __future__ import annotations

import uuid

import pytest
from pydantic import SecretStr

from rampart.core.asset_config import open_config, public_config, reveal_config, seal_config
from rampart.core.crypto import DecryptionError, Keyring
from rampart.sdk.connector import AssetConfig


class ApiConfig(AssetConfig):
    url: str
    token: SecretStr
    retries: int = 3


CONFIG = ApiConfig(url="https://api.example", token=SecretStr("t0ken-value"))


def test_reveal_and_public_differ_only_by_the_secrets() -> None:
    assert reveal_config(CONFIG) == {
        "url": "https://api.example",
        "token": "t0ken-value",
        "retries": 3,
    }
    assert public_config(CONFIG) == {"url": "https://api.example", "retries": 3}


def test_a_sealed_configuration_opens_only_for_its_own_asset() -> None:
    keyring = Keyring.from_text(Keyring.generate_key_text())
    asset_id = uuid.uuid4()
    sealed = seal_config(CONFIG, keyring=keyring, asset_id=asset_id)
    assert b"t0ken-value" not in sealed
    assert open_config(sealed, keyring=keyring, asset_id=asset_id) == reveal_config(CONFIG)
    with pytest.raises(DecryptionError):
        open_config(sealed, keyring=keyring, asset_id=uuid.uuid4())
