"""An asset's configuration as a connector declares it: a frozen model, secrets typed."""

from __future__ import annotations

import functools
import typing
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, SecretBytes, SecretStr

__all__ = ["AssetConfig", "destination_fields", "secret_fields"]

CONVENTIONAL_DESTINATIONS = frozenset(
    {"host", "hostname", "address", "port", "url", "base_url", "endpoint", "server", "tenant"}
    | {"username", "user", "account", "domain"}
)
"""Field names that say where (and as whom) secrets are sent, when a model declares none."""


class AssetConfig(BaseModel):
    """Base of a connector's asset configuration; type secret fields as ``SecretStr``.

    ``secrets_go_to`` names the fields that decide where the secrets are sent (and as whom):
    changing one drops the stored secrets unless the same change gives them again. Left
    ``None``, it is the model's fields with a conventional name (``host``, ``port``, ``url``,
    ``username``, ...).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    secrets_go_to: ClassVar[tuple[str, ...] | None] = None


def _is_secret(annotation: Any) -> bool:
    if annotation in (SecretStr, SecretBytes):
        return True
    return any(_is_secret(arg) for arg in typing.get_args(annotation))


@functools.cache
def _secret_names(model: type[BaseModel]) -> tuple[str, ...]:
    return tuple(name for name, info in model.model_fields.items() if _is_secret(info.annotation))


def secret_fields(model: type[BaseModel]) -> list[str]:
    """The top-level fields of a configuration model that hold secrets."""
    return list(_secret_names(model))


def destination_fields(model: type[BaseModel]) -> list[str]:
    """The fields of a configuration model that decide where its secrets are sent."""
    declared = getattr(model, "secrets_go_to", None)
    if declared is not None:
        return list(declared)
    return [name for name in model.model_fields if name in CONVENTIONAL_DESTINATIONS]
