"""Installed connectors: found through the ``rampart.connectors`` entry points, checked
against the action catalog, and refused with every reason when they contradict it.

The platform's side of :mod:`rampart.sdk.connector`: connector authors declare, this loads
and checks (the connector harness of :mod:`rampart.sdk.testing` runs the same checks).
"""

from __future__ import annotations

import inspect
import re
import typing
from collections.abc import Iterable, Iterator
from importlib.metadata import entry_points
from typing import Any

from pydantic import BaseModel

from rampart.core.widgets import WidgetError, compile_widget
from rampart.sdk.catalog import CATALOG
from rampart.sdk.connector import AssetConfig, Connector, ConnectorError

__all__ = [
    "ENTRY_POINT_GROUP",
    "ConnectorRegistry",
    "check_connector",
    "discover_connectors",
]

ENTRY_POINT_GROUP = "rampart.connectors"
_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_NOISE = frozenset({"title", "description", "examples"})


def _shape(schema: Any) -> Any:
    # Titles and descriptions are documentation: two schemas that accept the same values match.
    if isinstance(schema, dict):
        return {k: _shape(v) for k, v in schema.items() if k not in _NOISE}
    if isinstance(schema, list):
        return [_shape(v) for v in schema]
    return schema


def _schema_problems(action: str, given: type[BaseModel]) -> list[str]:
    want = _shape(CATALOG[action].parameters_schema())
    have = _shape(given.model_json_schema())
    problems: list[str] = []
    want_props, have_props = want.get("properties", {}), have.get("properties", {})
    for name in sorted(set(want_props) | set(have_props)):
        if name not in have_props:
            problems.append(f"{action!r}: parameter {name!r} of the catalog is missing")
        elif name not in want_props:
            problems.append(f"{action!r}: parameter {name!r} is not in the catalog")
        elif want_props[name] != have_props[name]:
            problems.append(
                f"{action!r}: parameter {name!r} is {have_props[name]}, "
                f"the catalog says {want_props[name]}"
            )
    rest = {k: v for k, v in want.items() if k != "properties"}
    if not problems and rest != {k: v for k, v in have.items() if k != "properties"}:
        problems.append(f"{action!r}: parameter constraints differ from the catalog's")
    return problems


def _declaration_problems(cls: type[Connector[Any]]) -> list[str]:
    problems: list[str] = []
    for attr in ("vendor", "product"):
        value = getattr(cls, attr, None)
        if not isinstance(value, str) or not value.strip():
            problems.append(f"`{attr}` must be a non-empty string")
    config = getattr(cls, "config_model", None)
    if not (inspect.isclass(config) and issubclass(config, AssetConfig)):
        problems.append("`config_model` must be a subclass of rampart.sdk.connector.AssetConfig")
    return problems


def _action_problems(cls: type[Connector[Any]]) -> list[str]:
    problems: list[str] = []
    bindings = cls.bindings()
    if "test connectivity" not in bindings:
        problems.append("it must implement 'test connectivity'")
    for name, binding in sorted(bindings.items()):
        if name not in CATALOG:
            problems.append(f"{name!r} is not an action of the catalog")
            continue
        method = getattr(cls, binding.method)
        if not inspect.iscoroutinefunction(method):
            problems.append(f"{name!r}: {binding.method}() must be `async def`")
        if list(inspect.signature(method).parameters)[1:] != ["ctx", "params"]:
            problems.append(f"{name!r}: {binding.method}() must take (self, ctx, params)")
            continue
        try:
            hints = typing.get_type_hints(method)
        except Exception as exc:  # an annotation naming something undefined
            problems.append(f"{name!r}: annotations of {binding.method}() do not resolve: {exc}")
            continue
        given = hints.get("params")
        if not (inspect.isclass(given) and issubclass(given, BaseModel)):
            problems.append(f"{name!r}: `params` must be annotated with a pydantic model")
        else:
            problems.extend(_schema_problems(name, given))
        output = binding.output or hints.get("return")
        if not (inspect.isclass(output) and issubclass(output, BaseModel)):
            problems.append(f"{name!r}: its output must be declared as a pydantic model")
        if binding.widget is not None:
            try:
                compile_widget(binding.widget)
            except WidgetError as exc:
                problems.append(f"{name!r}: widget template: {exc}")
    return problems


def check_connector(candidate: object) -> list[str]:
    """Every way ``candidate`` contradicts the catalog or the SDK; empty when it is sound."""
    if not (inspect.isclass(candidate) and issubclass(candidate, Connector)):
        return [f"{candidate!r} is not a subclass of rampart.sdk.connector.Connector"]
    name = getattr(candidate, "name", None)
    if not isinstance(name, str) or not _NAME.match(name):
        return ["`name` must match [a-z][a-z0-9_-]*, e.g. 'ssh' or 'palo-alto'"]
    return _declaration_problems(candidate) + _action_problems(candidate)


def _refuse(what: str, problems: list[str]) -> ConnectorError:
    return ConnectorError(f"connector {what} is refused:\n  - " + "\n  - ".join(problems))


class ConnectorRegistry:
    """The installed connectors by name; only sound declarations get in."""

    def __init__(self, connectors: Iterable[type[Connector[Any]]] = ()) -> None:
        self._by_name: dict[str, type[Connector[Any]]] = {}
        for connector in connectors:
            self.register(connector)

    def register(self, connector: type[Connector[Any]]) -> None:
        """Add a connector; raises ConnectorError listing every problem of its declaration."""
        problems = check_connector(connector)
        if problems:
            raise _refuse(repr(getattr(connector, "name", connector)), problems)
        if connector.name in self._by_name and self._by_name[connector.name] is not connector:
            raise _refuse(repr(connector.name), ["another connector has the same name"])
        self._by_name[connector.name] = connector

    def get(self, name: str) -> type[Connector[Any]] | None:
        """The connector of that name, or None."""
        return self._by_name.get(name)

    def __iter__(self) -> Iterator[type[Connector[Any]]]:
        return iter(sorted(self._by_name.values(), key=lambda c: c.name))

    def __len__(self) -> int:
        return len(self._by_name)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def implementing(self, action: str) -> list[str]:
        """Names of the connectors that implement a catalog action."""
        return [c.name for c in self if c.implements(action)]

    def for_product(self, product: str) -> list[str]:
        """Names of the connectors for a product, matched case-insensitively."""
        wanted = product.strip().casefold()
        return [c.name for c in self if c.product.casefold() == wanted]


def discover_connectors(group: str = ENTRY_POINT_GROUP) -> ConnectorRegistry:
    """Load every connector registered under the entry-point group; refuse unsound ones."""
    registry = ConnectorRegistry()
    for entry in sorted(entry_points(group=group), key=lambda e: e.name):
        where = f"{entry.name!r} ({entry.value})"
        try:
            loaded = entry.load()
        except Exception as exc:  # an installed package that fails to import
            raise _refuse(where, [f"it could not be imported: {exc!r}"]) from exc
        if getattr(loaded, "name", None) != entry.name:
            raise _refuse(
                where,
                [
                    f"the entry point is named {entry.name!r} but the connector calls itself "
                    f"{getattr(loaded, 'name', None)!r}"
                ],
            )
        registry.register(loaded)
    return registry
