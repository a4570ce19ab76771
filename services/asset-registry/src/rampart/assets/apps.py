"""The action and app catalogs as the API shows them, built from the installed connectors."""

from __future__ import annotations

from typing import Any

from rampart.assets.models import ActionPublic, AppActionPublic, AppPublic
from rampart.core.connectors import ConnectorRegistry
from rampart.sdk.catalog import CATALOG, ActionSpec
from rampart.sdk.connector import Connector, secret_fields


def describe_action(spec: ActionSpec, registry: ConnectorRegistry) -> ActionPublic:
    """One catalog action with the connectors that implement it."""
    return ActionPublic(
        name=spec.name,
        kind=spec.kind.value,
        description=spec.description,
        parameters=spec.parameters_schema(),
        contains=spec.contains(),
        undo=spec.undo,
        apps=registry.implementing(spec.name),
    )


def list_actions(registry: ConnectorRegistry, *, kind: str | None = None) -> list[ActionPublic]:
    """The catalog in its own order, optionally of one kind."""
    return [
        describe_action(spec, registry)
        for spec in CATALOG.values()
        if kind is None or spec.kind.value == kind
    ]


def describe_app(connector: type[Connector[Any]]) -> AppPublic:
    """An installed connector: product, actions with output schemas, configuration schema."""
    bindings = connector.bindings()
    actions = [
        AppActionPublic(
            name=name,
            kind=CATALOG[name].kind.value,
            output=connector.output_model(name).model_json_schema(),
            has_widget=bindings[name].widget is not None,
        )
        for name in CATALOG
        if name in bindings
    ]
    return AppPublic(
        name=connector.name,
        vendor=connector.vendor,
        product=connector.product,
        description=connector.description,
        version=connector.version,
        actions=actions,
        config_schema=connector.config_model.model_json_schema(),
        secret_fields=secret_fields(connector.config_model),
        has_widget=any(a.has_widget for a in actions),
    )
