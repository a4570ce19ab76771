"""An asset's configuration at rest: revealed only to be sealed, bound to its asset, and
shown without its secrets."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from pydantic import BaseModel, SecretBytes, SecretStr
from pydantic_core import to_jsonable_python

from rampart.core.crypto import Keyring, open_json, seal_json
from rampart.sdk.connector import secret_fields

__all__ = ["asset_config_aad", "open_config", "public_config", "reveal_config", "seal_config"]


def _revealed(value: Any) -> Any:
    if isinstance(value, SecretStr | SecretBytes):
        return value.get_secret_value()
    if isinstance(value, dict):
        return {k: _revealed(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_revealed(v) for v in value]
    return value


def reveal_config(config: BaseModel) -> dict[str, Any]:
    """The configuration as JSON values, secrets included: only for sealing, never for output."""
    value = to_jsonable_python(_revealed(config.model_dump(mode="python")))
    assert isinstance(value, dict)
    return value


def public_config(config: BaseModel) -> dict[str, Any]:
    """The configuration as JSON values without its secret fields."""
    return config.model_dump(mode="json", exclude=set(secret_fields(type(config))))


def asset_config_aad(asset_id: UUID) -> bytes:
    """The associated data an asset's sealed configuration is bound to."""
    return f"assets:{asset_id}:config".encode()


def seal_config(config: BaseModel, *, keyring: Keyring, asset_id: UUID) -> bytes:
    """The whole configuration, secrets included, encrypted and bound to its asset."""
    return seal_json(
        reveal_config(config), keyring=keyring, associated_data=asset_config_aad(asset_id)
    )


def open_config(sealed: bytes, *, keyring: Keyring, asset_id: UUID) -> dict[str, Any]:
    """The JSON values of a configuration sealed by :func:`seal_config` for this asset."""
    return open_json(sealed, keyring=keyring, associated_data=asset_config_aad(asset_id))
