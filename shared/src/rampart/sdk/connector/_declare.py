"""Declaring a connector: a :class:`Connector` subclass with ``@action("verb")`` methods.

A connector names itself and its product, declares its asset configuration as an
:class:`~rampart.sdk.connector.AssetConfig` model, and implements catalog actions as
``@action("verb")`` coroutine methods taking ``(self, ctx, params)``. The platform checks a
declaration against the catalog when it loads the connector.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from rampart.sdk.catalog import InvalidParameters, field_errors
from rampart.sdk.connector._config import AssetConfig
from rampart.sdk.connector._context import ActionContext
from rampart.sdk.connector._errors import (
    ActionError,
    ActionNotImplemented,
    ConnectorError,
    InvalidConfiguration,
)

__all__ = ["ActionBinding", "Connector", "action"]

ConfigT = TypeVar("ConfigT", bound=AssetConfig)
_BINDING = "__rampart_action__"


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
            raise ActionError(
                f"{self.name}: {action_name!r} returned {type(result).__name__}, "
                f"not its declared {output.__name__}"
            )
        return result
