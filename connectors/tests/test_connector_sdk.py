"""The connector SDK: the catalog, declaration checks, entry-point discovery, the docs example."""

from __future__ import annotations

import importlib
import textwrap
from typing import Any

import pytest
from pydantic import BaseModel

from rampart.sdk import ActionContext, AssetConfig, Connector, action, render_widget
from rampart.sdk.catalog import (
    CATALOG,
    CONTAINS_TYPES,
    ActionKind,
    InvalidParameters,
    IpParams,
    NoParams,
    validate_params,
)
from rampart.sdk.connectors import ActionNotImplemented, InvalidConfiguration
from rampart.sdk.policy import ApprovalPolicy
from rampart.sdk.registry import ConnectorError, ConnectorRegistry, check_connector
from rampart.sdk.registry import discover_connectors as discover

REQUIRED = {
    "block ip": "contain",
    "unblock ip": "correct",
    "block domain": "contain",
    "unblock domain": "correct",
    "get process dump": "investigate",
    "terminate process": "correct",
    "list processes": "investigate",
    "suspend vm": "contain",
    "resume vm": "correct",
    "isolate host": "contain",
    "release host": "correct",
    "disable user": "contain",
    "enable user": "correct",
    "lookup ip": "investigate",
    "lookup hash": "investigate",
    "lookup domain": "investigate",
    "run query": "investigate",
    "send message": "generic",
    "test connectivity": "test",
}
UNDO = {
    "block ip": "unblock ip",
    "block domain": "unblock domain",
    "suspend vm": "resume vm",
    "isolate host": "release host",
    "disable user": "enable user",
}


def test_catalog_holds_every_verb_with_its_kind() -> None:
    assert {name: CATALOG[name].kind.value for name in REQUIRED} == REQUIRED


def test_undo_pairs_go_both_ways_and_undo_a_containment_with_a_correction() -> None:
    for do, undo in UNDO.items():
        assert CATALOG[do].undo == undo
        assert CATALOG[undo].undo == do
        assert CATALOG[do].kind is ActionKind.CONTAIN
        assert CATALOG[undo].kind is ActionKind.CORRECT
    paired = {n for n, s in CATALOG.items() if s.undo}
    assert paired == set(UNDO) | set(UNDO.values())


def test_contains_types_name_real_parameters() -> None:
    seen: set[str] = set()
    for spec in CATALOG.values():
        properties = spec.parameters_schema().get("properties", {})
        for parameter, types in spec.contains().items():
            assert parameter in properties, (spec.name, parameter)
            assert set(types) <= set(CONTAINS_TYPES)
            seen.update(types)
    assert seen == set(CONTAINS_TYPES), "a contains type no action takes"
    assert CATALOG["get process dump"].contains() == {"pid": ["process id"]}
    assert CATALOG["block ip"].contains() == {"ip": ["ip"]}


def test_parameters_are_validated_and_errors_name_the_field() -> None:
    assert validate_params("block ip", {"ip": " 10.1.2.3 "}).model_dump() == {"ip": "10.1.2.3"}
    assert validate_params("block ip", {"ip": "10.1.2.3/16"}).model_dump() == {"ip": "10.1.0.0/16"}
    assert validate_params("lookup hash", {"hash": "D41D8CD98F00B204E9800998ECF8427E"})
    cases = [
        ("block ip", {"ip": "ten.one"}, "params.ip"),
        ("block ip", {}, "params.ip"),
        ("block ip", {"ip": "10.0.0.1", "port": 22}, "params.port"),
        ("terminate process", {"grace_seconds": 1}, "params"),
        ("terminate process", {"pid": 0}, "params.pid"),
        ("lookup hash", {"hash": "abc"}, "params.hash"),
        ("lookup domain", {"domain": "not a domain"}, "params.domain"),
        ("send message", {"to": [], "body": "x"}, "params.to"),
    ]
    for name, params, field in cases:
        with pytest.raises(InvalidParameters) as caught:
            validate_params(name, params)
        assert caught.value.errors[0]["field"] == field, (name, params, caught.value.errors)
    with pytest.raises(InvalidParameters) as caught:
        validate_params("block ip", {"ip": "s3cr3t-value"})
    assert "s3cr3t-value" not in str(caught.value.errors)


def test_default_policy_gates_contain_and_correct() -> None:
    policy = ApprovalPolicy()
    assert policy.needs_approval("block ip")
    assert policy.needs_approval("terminate process")
    assert not policy.needs_approval("get process dump")
    custom = ApprovalPolicy(kinds=["contain"], actions=["get process dump"], exempt=["block ip"])
    assert custom.needs_approval("get process dump")
    assert not custom.needs_approval("block ip")
    assert not custom.needs_approval("terminate process")
    with pytest.raises(ValueError, match="frobnicate"):
        ApprovalPolicy(actions=["frobnicate"])


# --- declarations -------------------------------------------------------------------------


class Config(AssetConfig):
    url: str = "https://fw.example"


class Blocked(BaseModel):
    ip: str


class Ok(BaseModel):
    ok: bool


class Sound(Connector[Config]):
    name = "sound"
    vendor = "Acme"
    product = "Firewall"
    config_model = Config

    @action("block ip")
    async def block(self, ctx: ActionContext, params: IpParams) -> Blocked:
        return Blocked(ip=params.ip)

    @action("test connectivity")
    async def ping(self, ctx: ActionContext, params: NoParams) -> Ok:
        return Ok(ok=True)


class WrongParams(BaseModel):
    address: str


class WrongType(BaseModel):
    ip: int


def _variant(**changes: Any) -> type[Connector[Any]]:
    return type("Variant", (Sound,), {"__module__": __name__, **changes})


async def _block_wrong(self: Any, ctx: ActionContext, params: WrongParams) -> Blocked:
    return Blocked(ip=params.address)


async def _block_wrong_type(self: Any, ctx: ActionContext, params: WrongType) -> Blocked:
    return Blocked(ip=str(params.ip))


async def _frobnicate(self: Any, ctx: ActionContext, params: NoParams) -> Ok:
    return Ok(ok=True)


async def _no_output(self: Any, ctx: ActionContext, params: IpParams) -> dict[str, str]:
    return {"ip": params.ip}


def _sync_block(self: Any, ctx: ActionContext, params: IpParams) -> Blocked:
    return Blocked(ip=params.ip)


async def _bad_signature(self: Any, params: IpParams) -> Blocked:
    return Blocked(ip=params.ip)


async def _block_again(self: Any, ctx: ActionContext, params: IpParams) -> Blocked:
    return Blocked(ip=params.ip)


async def _ping_missing(self: Any, ctx: ActionContext, params: NoParams) -> Ok:
    return Ok(ok=True)


def test_a_sound_connector_passes_and_runs() -> None:
    assert check_connector(Sound) == []
    registry = ConnectorRegistry([Sound])
    assert registry.implementing("block ip") == ["sound"]
    assert registry.for_product("FIREWALL") == ["sound"]
    assert registry.implementing("suspend vm") == []


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"block": action("block ip")(_block_wrong)}, "parameter 'address' is not in the catalog"),
        ({"block": action("block ip")(_block_wrong)}, "parameter 'ip' of the catalog is missing"),
        ({"block": action("block ip")(_block_wrong_type)}, "parameter 'ip' is {'type': 'integer'}"),
        ({"extra": action("frobnicate")(_frobnicate)}, "'frobnicate' is not an action of the"),
        ({"block": action("block ip")(_no_output)}, "output must be declared as a pydantic"),
        ({"block": action("block ip")(_sync_block)}, "block() must be `async def`"),
        ({"block": action("block ip")(_bad_signature)}, "must take (self, ctx, params)"),
        ({"ping": _ping_missing}, "it must implement 'test connectivity'"),
        ({"name": "Bad Name"}, "`name` must match"),
        ({"vendor": ""}, "`vendor` must be a non-empty string"),
        ({"config_model": dict}, "`config_model` must be a subclass"),
        (
            {"block": action("block ip", widget="{% for x in %}")(_block_again)},
            "widget template: line 1",
        ),
    ],
)
def test_a_contradicting_declaration_is_refused_with_the_reason(
    changes: dict[str, Any], problem: str
) -> None:
    variant = _variant(**changes)
    problems = check_connector(variant)
    assert any(problem in p for p in problems), problems
    with pytest.raises(ConnectorError, match="is refused"):
        ConnectorRegistry([variant])


def test_not_a_connector_is_refused() -> None:
    assert "is not a subclass of rampart.sdk.Connector" in check_connector(dict)[0]


async def test_run_validates_parameters_and_refuses_unimplemented_actions() -> None:
    connector = Sound(Config())
    result = await connector.run("block ip", {"ip": "192.0.2.1"}, ActionContext(asset="fw"))
    assert result == Blocked(ip="192.0.2.1")
    with pytest.raises(InvalidParameters, match=r"params\.ip"):
        await connector.run("block ip", {"ip": "nope"}, ActionContext(asset="fw"))
    with pytest.raises(ActionNotImplemented, match="does not implement 'suspend vm'"):
        await connector.run("suspend vm", {"vm": "x"}, ActionContext(asset="fw"))
    with pytest.raises(InvalidConfiguration) as caught:
        Sound.parse_config({"url": 3, "token": "x"})
    assert {e["field"] for e in caught.value.errors} == {"config.url", "config.token"}


def test_widgets_escape_values_and_stay_in_the_sandbox() -> None:
    html = render_widget("<b>{{ result.ip }}</b>", {"ip": "<script>alert(1)</script>"})
    assert html == "<b>&lt;script&gt;alert(1)&lt;/script&gt;</b>"
    from rampart.sdk.widgets import WidgetError

    with pytest.raises(WidgetError):
        render_widget("{{ result.__class__.__mro__[1].__subclasses__() }}", {"ip": "x"})


# --- discovery through entry points --------------------------------------------------------


def _module(source: str) -> Any:
    return textwrap.dedent(source)


async def test_the_docs_example_is_discovered_through_its_entry_point_and_runs(
    install_plugin: Any, docs_example: str
) -> None:
    install_plugin(
        {"static_list": docs_example}, {"static-list": "static_list:StaticListConnector"}
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
    install_plugin: Any, docs_example: str
) -> None:
    broken = docs_example.replace("params: LookupIpParams", "params: Wrong").replace(
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
    install_plugin: Any, docs_example: str
) -> None:
    install_plugin({"static_list": docs_example}, {"reputation": "static_list:StaticListConnector"})
    with pytest.raises(ConnectorError, match="calls itself 'static-list'"):
        discover()


def test_a_plugin_that_fails_to_import_is_named(install_plugin: Any) -> None:
    install_plugin({"broken": "import not_a_module_anywhere\n"}, {"broken": "broken:Thing"})
    with pytest.raises(ConnectorError, match="could not be imported") as caught:
        discover()
    assert "connector 'broken'" in str(caught.value)
    assert "not_a_module_anywhere" in str(caught.value)
    importlib.invalidate_caches()
