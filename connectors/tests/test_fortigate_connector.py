"""The fortigate connector against a fake FortiOS REST API.

The fake (connectors/tests/fakes/fortigate.py) follows Fortinet's "FortiGate Administration
Guide — Using APIs" (https://docs.fortinet.com/document/fortigate/7.4.0/administration-guide/
940602) and the FortiOS REST API's cmdb firewall address / addrgrp and monitor system status.
"""

from __future__ import annotations

import httpx
import pytest

from connectors.tests.fakes.fortigate import Fortigate, make_app
from rampart.connectors.fortigate import FortigateConnector
from rampart.sdk.connector import ActionError, TargetUnavailable
from rampart.sdk.testing import ConnectorHarness

TOKEN = "fgt-token-0123456789"


def harness(fgt: Fortigate, token: str = TOKEN) -> ConnectorHarness[FortigateConnector]:
    return ConnectorHarness(
        FortigateConnector,
        {"url": "https://fgt.example", "api_token": token},
        http=httpx.ASGITransport(app=make_app(fgt)),
    )


def test_the_declaration_matches_the_catalog() -> None:
    harness(Fortigate()).check()


async def test_block_ip_makes_the_address_a_member_of_the_group_once() -> None:
    fgt = Fortigate()
    h = harness(fgt)
    first = await h.run("block ip", ip="203.0.113.9")
    assert first.model_dump() == {
        "action": "blocked",
        "ip": "203.0.113.9",
        "address": "rampart-203.0.113.9",
        "group": "rampart-blocked",
        "vdom": "root",
        "changed": True,
    }
    assert fgt.objects["address"]["rampart-203.0.113.9"]["subnet"] == (
        "203.0.113.9 255.255.255.255"
    )
    again = await h.run("block ip", ip="203.0.113.9")
    assert again.model_dump()["changed"] is False
    await h.run("block ip", ip="198.51.100.0/24")
    assert [m["name"] for m in fgt.objects["addrgrp"]["rampart-blocked"]["member"]] == [
        "rampart-203.0.113.9",
        "rampart-198.51.100.0-24",
    ]
    v6 = await h.run("block ip", ip="2001:db8::1")
    assert v6.model_dump()["group"] == "rampart-blocked6"
    assert fgt.objects["address6"]["rampart-2001-db8--1"]["ip6"] == "2001:db8::1/128"
    assert "203.0.113.9" in h.render("block ip", first)


async def test_unblock_ip_leaves_the_group_and_deletes_the_object() -> None:
    fgt = Fortigate()
    h = harness(fgt)
    await h.run("block ip", ip="203.0.113.9")
    await h.run("block ip", ip="203.0.113.10")
    done = await h.run("unblock ip", ip="203.0.113.9")
    assert done.model_dump()["changed"] is True
    assert list(fgt.objects["address"]) == ["rampart-203.0.113.10"]
    assert [m["name"] for m in fgt.objects["addrgrp"]["rampart-blocked"]["member"]] == [
        "rampart-203.0.113.10"
    ]
    assert (await h.run("unblock ip", ip="203.0.113.9")).model_dump()["changed"] is False


async def test_block_domain_puts_an_fqdn_object_in_the_group_and_unblock_takes_it_out() -> None:
    fgt = Fortigate()
    h = harness(fgt)
    await h.run("block ip", ip="203.0.113.9")
    blocked = await h.run("block domain", domain="evil.example")
    assert blocked.model_dump() == {
        "action": "blocked",
        "domain": "evil.example",
        "address": "rampart-fqdn-evil.example",
        "group": "rampart-blocked",
        "vdom": "root",
        "changed": True,
    }
    obj = fgt.objects["address"]["rampart-fqdn-evil.example"]
    assert (obj["type"], obj["fqdn"]) == ("fqdn", "evil.example")
    assert [m["name"] for m in fgt.objects["addrgrp"]["rampart-blocked"]["member"]] == [
        "rampart-203.0.113.9",
        "rampart-fqdn-evil.example",
    ]
    assert (await h.run("block domain", domain="evil.example")).model_dump()["changed"] is False
    assert "evil.example" in h.render("block domain", blocked)
    long = "a" * 60 + ".very-long-subdomain.evil.example"
    assert len((await h.run("block domain", domain=long)).model_dump()["address"]) <= 79
    done = await h.run("unblock domain", domain="evil.example")
    assert done.model_dump()["changed"] is True
    assert "rampart-fqdn-evil.example" not in fgt.objects["address"]
    assert (await h.run("unblock domain", domain="evil.example")).model_dump()["changed"] is False


async def test_test_connectivity_reads_the_system_status() -> None:
    status = await harness(Fortigate()).run("test connectivity")
    assert status.model_dump() == {
        "hostname": "fgt-fake",
        "model": "FortiGate",
        "serial": "FGVM01TM00000000",
        "version": "v7.4.3",
    }


async def test_a_wrong_token_is_an_action_error_without_the_token() -> None:
    fgt = Fortigate()
    with pytest.raises(ActionError, match="answered 401") as caught:
        await harness(fgt, token="fgt-wrong-token-999").run("block ip", ip="192.0.2.1")
    assert not isinstance(caught.value, TargetUnavailable)
    assert "fgt-wrong-token-999" not in str(caught.value)
    assert fgt.objects["address"] == {}


async def test_429_with_retry_after_and_5xx_are_transient() -> None:
    fgt = Fortigate()
    h = harness(fgt)
    fgt.faults.add("/api/v2/cmdb", 429, headers={"Retry-After": "3"}, body={"http_status": 429})
    with pytest.raises(TargetUnavailable) as caught:
        await h.run("block ip", ip="192.0.2.1")
    assert caught.value.retry_after == 3.0
    fgt.faults.add("/api/v2/cmdb", 502, body={"http_status": 502})
    with pytest.raises(TargetUnavailable, match="502"):
        await h.run("block ip", ip="192.0.2.1")
    assert (await h.run("block ip", ip="192.0.2.1")).model_dump()["changed"] is True
