"""The connector harness: declarations checked, actions run on the transports a test gives."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel

from rampart.sdk.connector import (
    ActionContext,
    AssetConfig,
    Connector,
    ConnectorError,
    InvalidConfiguration,
    InvalidParameters,
    IpParams,
    NoParams,
    action,
)
from rampart.sdk.testing import ConnectorHarness


class FirewallConfig(AssetConfig):
    url: str


class Blocked(BaseModel):
    ip: str
    rule: int


class Reached(BaseModel):
    ok: bool


class FirewallConnector(Connector[FirewallConfig]):
    name = "acme-fw"
    vendor = "Acme"
    product = "Firewall"
    config_model = FirewallConfig

    @action("block ip", widget="<b>{{ result.ip }}</b> rule {{ result.rule }}")
    async def block_ip(self, ctx: ActionContext, params: IpParams) -> Blocked:
        async with ctx.http(base_url=self.config.url) as client:
            answer = await client.post("/rules", json={"drop": params.ip})
        return Blocked(ip=params.ip, rule=answer.json()["id"])

    @action("test connectivity")
    async def ping(self, ctx: ActionContext, params: NoParams) -> Reached:
        return Reached(ok=True)


def _fake_firewall() -> tuple[FastAPI, list[dict[str, Any]]]:
    app = FastAPI()
    rules: list[dict[str, Any]] = []

    @app.post("/rules")
    async def add_rule(rule: dict[str, Any]) -> dict[str, int]:
        rules.append(rule)
        return {"id": len(rules)}

    return app, rules


async def test_an_action_reaches_a_fake_product_through_the_context_http_client() -> None:
    app, rules = _fake_firewall()
    harness = ConnectorHarness(
        FirewallConnector, {"url": "http://fw.test"}, http=httpx.ASGITransport(app=app)
    )
    harness.check()
    result = await harness.run("block ip", ip=" 192.0.2.7 ")
    assert result == Blocked(ip="192.0.2.7", rule=1)
    assert rules == [{"drop": "192.0.2.7"}]
    assert harness.render("block ip", result) == "<b>192.0.2.7</b> rule 1"
    with pytest.raises(LookupError, match="has no widget"):
        harness.render("test connectivity", Reached(ok=True))


async def test_parameters_and_configuration_are_validated_as_the_platform_does() -> None:
    with pytest.raises(InvalidConfiguration) as caught:
        ConnectorHarness(FirewallConnector, {"uri": "http://fw.test"})
    assert {e["field"] for e in caught.value.errors} == {"config.url", "config.uri"}
    harness = ConnectorHarness(FirewallConnector, FirewallConfig(url="http://fw.test"))
    with pytest.raises(InvalidParameters, match=r"params\.ip"):
        await harness.run("block ip", {"ip": "not an address"})


async def test_the_ssh_factory_given_is_the_context_ssh() -> None:
    dialled: list[tuple[str, int]] = []

    async def connect(host: str, port: int, **options: Any) -> Any:
        dialled.append((host, port))
        return "a connection"

    harness = ConnectorHarness(FirewallConnector, {"url": "http://fw.test"}, ssh=connect)
    assert await harness.context.ssh("198.51.100.2", 2222) == "a connection"
    assert dialled == [("198.51.100.2", 2222)]


async def _block_with_extra(self: Any, ctx: ActionContext, params: Reached) -> Blocked:
    return Blocked(ip="x", rule=0)


def test_check_refuses_a_declaration_that_contradicts_the_catalog() -> None:
    broken = type(
        "Broken",
        (FirewallConnector,),
        {"__module__": __name__, "block_ip": action("block ip")(_block_with_extra)},
    )
    harness = ConnectorHarness(broken, {"url": "http://fw.test"})
    assert "'block ip': parameter 'ok' is not in the catalog" in harness.problems()
    with pytest.raises(ConnectorError, match="parameter 'ip' of the catalog is missing"):
        harness.check()
