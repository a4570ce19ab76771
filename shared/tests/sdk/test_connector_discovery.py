"""Finding connectors through the ``rampart.connectors`` entry points, with the docs' example."""

from __future__ import annotations

import importlib
from typing import Any

import pytest

from rampart.core.connectors import ConnectorError
from rampart.core.connectors import discover_connectors as discover
from rampart.core.widgets import render_widget
from rampart.sdk.connector import ActionContext


async def test_the_static_list_source_is_discovered_through_its_entry_point_and_runs(
    install_plugin: Any, static_list_source: str
) -> None:
    install_plugin(
        {"static_list": static_list_source}, {"static-list": "static_list:StaticListConnector"}
    )
    registry = discover()
    connector_cls = registry.get("static-list")
    assert connector_cls is not None
    assert connector_cls.product == "Static IP list"
    config = connector_cls.parse_config({"networks": ["203.0.113.0/24"], "api_token": "t0ken"})
    connector = connector_cls(config)
    listed = await connector.run("lookup ip", {"ip": "203.0.113.9"}, ActionContext(asset="tl"))
    assert listed.model_dump() == {"ip": "203.0.113.9", "listed": True, "network": "203.0.113.0/24"}
    clean = await connector.run("lookup ip", {"ip": "198.51.100.1"}, ActionContext(asset="tl"))
    assert clean.model_dump()["listed"] is False
    widget = connector_cls.bindings()["lookup ip"].widget
    assert widget is not None
    assert "<strong>listed</strong> in 203.0.113.0/24" in render_widget(widget, listed)
    reachable = await connector.run("test connectivity", {}, ActionContext(asset="tl"))
    assert reachable.model_dump() == {"ok": True, "networks": 1}


def test_a_contradicting_plugin_stops_discovery_with_a_clear_message(
    install_plugin: Any, static_list_source: str
) -> None:
    broken = static_list_source.replace("params: LookupIpParams", "params: Wrong").replace(
        "class Reputation(BaseModel):",
        "class Wrong(BaseModel):\n    address: str\n\n\nclass Reputation(BaseModel):",
    )
    install_plugin({"static_list": broken}, {"static-list": "static_list:StaticListConnector"})
    with pytest.raises(ConnectorError) as caught:
        discover()
    message = str(caught.value)
    assert "connector 'static-list'" in message
    assert "'lookup ip': parameter 'address' is not in the catalog" in message


def test_an_entry_point_name_must_match_the_connector(
    install_plugin: Any, static_list_source: str
) -> None:
    install_plugin(
        {"static_list": static_list_source}, {"reputation": "static_list:StaticListConnector"}
    )
    with pytest.raises(ConnectorError, match="calls itself 'static-list'"):
        discover()


def test_a_plugin_that_fails_to_import_is_named(install_plugin: Any) -> None:
    install_plugin({"broken": "import not_a_module_anywhere\n"}, {"broken": "broken:Thing"})
    with pytest.raises(ConnectorError, match="could not be imported") as caught:
        discover()
    assert "connector 'broken'" in str(caught.value)
    assert "not_a_module_anywhere" in str(caught.value)
    importlib.invalidate_caches()
