"""An asset's configuration as a connector declares it: a frozen model, secrets typed."""

from __future__ import annotations

import functools
import typing
from typing import Any

from pydantic import BaseModel, ConfigDict, SecretBytes, SecretStr

__all__ = ["AssetConfig", "secret_fields"]


class AssetConfig(BaseModel):
    """Base of a connector's asset configuration; type secret fields as ``SecretStr``."""

    model_config = ConfigDict(frozen=True, extra="forbid")


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
