"""Declaring a connector: what the loader accepts, what it refuses and why, and running one."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from rampart.core.connectors import ConnectorRegistry, check_connector
from rampart.core.widgets import WidgetError, render_widget
from rampart.sdk.catalog import IpParams, NoParams
from rampart.sdk.connector import (
    ActionContext,
    ActionError,
    ActionNotImplemented,
    AssetConfig,
    Connector,
    ConnectorError,
    InvalidConfiguration,
    InvalidParameters,
    action,
)


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
    assert "is not a subclass of rampart.sdk.connector.Connector" in check_connector(dict)[0]


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
    with pytest.raises(WidgetError):
        render_widget("{{ result.__class__.__mro__[1].__subclasses__() }}", {"ip": "x"})


class Other(BaseModel):
    other: bool


async def _block_returns_other(self: Any, ctx: ActionContext, params: IpParams) -> Blocked:
    return Other(other=True)  # type: ignore[return-value]


async def test_a_result_that_is_not_the_declared_output_is_an_action_error() -> None:
    liar = _variant(block=action("block ip")(_block_returns_other))
    assert check_connector(liar) == []
    with pytest.raises(ActionError, match="returned Other, not its declared Blocked"):
        await liar(Config()).run("block ip", {"ip": "192.0.2.1"}, ActionContext(asset="fw"))


def test_connector_errors_have_their_own_names() -> None:
    import rampart.sdk
    import rampart.sdk.connector

    assert not hasattr(rampart.sdk.connector, "ActionFailed")
    assert rampart.sdk.ActionError is ActionError
    assert not issubclass(ActionError, rampart.sdk.ActionFailed)
