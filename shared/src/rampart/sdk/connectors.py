"""Writing a connector: its declaration, asset configuration, actions and how they are run.

A connector is a :class:`Connector` subclass that names itself and its product, declares its
asset configuration as an :class:`AssetConfig` model (secrets typed ``SecretStr``), and
implements catalog actions as ``@action("verb")`` coroutine methods taking
``(self, ctx, params)``. :mod:`rampart.sdk.registry` checks a declaration against the catalog.

Exception hierarchy::

    ConnectorError           a declaration contradicts the catalog (refused at start)
    PermanentError
    ├── ActionFailed         the action ran and failed; retrying cannot help
    ├── ActionNotImplemented the connector does not implement the action
    ├── InvalidConfiguration the asset configuration does not validate
    └── InvalidParameters    the parameters do not validate (rampart.sdk.catalog)
    TransientError
    └── TargetUnavailable    the product could not be reached; retry later
"""

from __future__ import annotations

import functools
import inspect
import logging
import typing
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, Generic, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, SecretBytes, SecretStr, ValidationError
from pydantic_core import to_jsonable_python

from rampart.core.errors import PermanentError, TransientError
from rampart.sdk.catalog import InvalidParameters, field_errors
from rampart.sdk.vault import Vault

__all__ = [
    "ActionBinding",
    "ActionContext",
    "ActionFailed",
    "ActionNotImplemented",
    "AssetConfig",
    "Connector",
    "ConnectorError",
    "InvalidConfiguration",
    "TargetUnavailable",
    "action",
    "asset_config_aad",
    "public_config",
    "reveal_config",
    "secret_fields",
]

log = logging.getLogger(__name__)

ConfigT = TypeVar("ConfigT", bound="AssetConfig")
_BINDING = "__rampart_action__"


class ConnectorError(Exception):
    """A connector's declaration contradicts the catalog or the SDK's rules."""


class ActionFailed(PermanentError):
    """The action ran and failed on the product; retrying will not help."""


class ActionNotImplemented(PermanentError):
    """The connector does not implement the requested action."""


class TargetUnavailable(TransientError):
    """The product could not be reached or was busy; the same request may work later."""


class InvalidConfiguration(PermanentError, ValueError):
    """An asset configuration that does not validate; ``errors`` name the fields."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        first = errors[0] if errors else {"field": "config", "message": "invalid"}
        super().__init__(f"{first['field']}: {first['message']}")
        self.errors = errors


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


@dataclass(frozen=True, slots=True)
class ActionBinding:
    """One catalog action a connector implements, and the method that does it."""

    action: str
    method: str
    output: type[BaseModel] | None
    widget: str | None


def action(
    name: str, *, output: type[BaseModel] | None = None, widget: str | None = None
) -> Callable[[Callable[..., Awaitable[Any]]], Callable[..., Awaitable[Any]]]:
    """Declare a method as the connector's implementation of the catalog action ``name``.

    The output model is ``output`` or the method's return annotation; ``widget`` is a Jinja2
    template that renders one result (as ``result``) as HTML.
    """

    def mark(method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        setattr(method, _BINDING, ActionBinding(name, method.__name__, output, widget))
        return method

    return mark


@dataclass(frozen=True, slots=True)
class ActionContext:
    """What an action may use besides its configuration and parameters."""

    asset: str
    vault: Vault | None = None
    log: logging.Logger | logging.LoggerAdapter[logging.Logger] = field(
        default_factory=lambda: logging.getLogger("rampart.connector")
    )


class Connector(Generic[ConfigT]):
    """Base class of every connector; one instance serves one asset's configuration."""

    name: ClassVar[str]
    vendor: ClassVar[str]
    product: ClassVar[str]
    description: ClassVar[str] = ""
    version: ClassVar[str] = "1"
    config_model: ClassVar[type[AssetConfig]]

    def __init__(self, config: ConfigT) -> None:
        self.config = config

    @classmethod
    def bindings(cls) -> dict[str, ActionBinding]:
        """The catalog actions this connector implements, by action name."""
        found: dict[str, ActionBinding] = {}
        for attr in dir(cls):
            binding = getattr(getattr(cls, attr, None), _BINDING, None)
            if isinstance(binding, ActionBinding):
                found.setdefault(binding.action, replace(binding, method=attr))
        return found

    @classmethod
    def implements(cls, action_name: str) -> bool:
        """Whether this connector implements a catalog action."""
        return action_name in cls.bindings()

    @classmethod
    def output_model(cls, action_name: str) -> type[BaseModel]:
        """The model of the action's result."""
        binding = cls._binding(action_name)
        if binding.output is not None:
            return binding.output
        hint = typing.get_type_hints(getattr(cls, binding.method)).get("return")
        if not (inspect.isclass(hint) and issubclass(hint, BaseModel)):
            raise ConnectorError(f"{cls.name}: {action_name!r} declares no output model")
        return hint

    @classmethod
    def params_model(cls, action_name: str) -> type[BaseModel]:
        """The parameter model the action's method takes."""
        binding = cls._binding(action_name)
        hint = typing.get_type_hints(getattr(cls, binding.method)).get("params")
        if not (inspect.isclass(hint) and issubclass(hint, BaseModel)):
            raise ConnectorError(f"{cls.name}: {action_name!r} takes no typed `params`")
        return hint

    @classmethod
    def _binding(cls, action_name: str) -> ActionBinding:
        binding = cls.bindings().get(action_name)
        if binding is None:
            raise ActionNotImplemented(f"connector {cls.name!r} does not implement {action_name!r}")
        return binding

    @classmethod
    def parse_config(cls, raw: Mapping[str, Any]) -> AssetConfig:
        """Validate an asset configuration; raises InvalidConfiguration naming the fields."""
        try:
            return cls.config_model.model_validate(dict(raw))
        except ValidationError as exc:
            raise InvalidConfiguration(field_errors(exc, prefix="config")) from None

    async def run(
        self, action_name: str, params: Mapping[str, Any] | BaseModel, ctx: ActionContext
    ) -> BaseModel:
        """Validate the parameters, run the action and check its result against its model."""
        binding = self._binding(action_name)
        model = self.params_model(action_name)
        raw = params.model_dump() if isinstance(params, BaseModel) else dict(params)
        try:
            parsed = model.model_validate(raw)
        except ValidationError as exc:
            raise InvalidParameters(action_name, field_errors(exc, prefix="params")) from None
        result = await getattr(self, binding.method)(ctx, parsed)
        output = self.output_model(action_name)
        if not isinstance(result, output):
            raise ActionFailed(
                f"{self.name}: {action_name!r} returned {type(result).__name__}, "
                f"not its declared {output.__name__}"
            )
        return result
