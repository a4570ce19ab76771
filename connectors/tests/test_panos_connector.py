"""The panos connector against a fake PAN-OS XML API.

The fake (connectors/tests/fakes/panos.py) follows Palo Alto Networks' "PAN-OS and Panorama
API Usage Guide" (https://docs.paloaltonetworks.com/pan-os/11-1/pan-os-panorama-api):
"Get Your API Key", "API Authentication and Security" (X-PAN-KEY), "Structure of a PAN-OS
XML API Request" and "Asynchronous and Synchronous Requests to the PAN-OS XML API" (commit
jobs polled with ``show jobs id`` until FIN).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from connectors.tests.fakes.panos import Firewall, make_app
from rampart.connectors.panos import PanosConnector
from rampart.sdk.connector import ActionError, InvalidConfiguration, TargetUnavailable
from rampart.sdk.testing import ConnectorHarness


def harness(fw: Firewall, **config: Any) -> ConnectorHarness[PanosConnector]:
    settings = {"url": "https://fw.example", "poll_interval_s": 0.01, **config}
    if "username" not in config:
        settings.setdefault("api_key", fw.issue_key())
    return ConnectorHarness(PanosConnector, settings, http=httpx.ASGITransport(app=make_app(fw)))


def test_the_declaration_matches_the_catalog() -> None:
    harness(Firewall()).check()


def test_credentials_are_required() -> None:
    with pytest.raises(InvalidConfiguration, match="api_key"):
        PanosConnector.parse_config({"url": "https://fw.example"})
    with pytest.raises(InvalidConfiguration, match="url"):
        PanosConnector.parse_config({"url": "http://fw.example", "api_key": "k"})


async def test_block_ip_adds_the_object_to_the_group_and_commits_after_polling_the_job() -> None:
    fw = Firewall(job_polls=2)
    h = harness(fw)
    result = await h.run("block ip", ip="203.0.113.7")
    assert result.model_dump() == {
        "action": "block ip",
        "value": "203.0.113.7",
        "entry": "rampart-203.0.113.7",
        "container": "rampart-blocked",
        "job": "1",
        "commit": "OK",
    }
    assert fw.running.addresses == {"rampart-203.0.113.7": "203.0.113.7"}
    assert fw.running.groups == {"rampart-blocked": ["rampart-203.0.113.7"]}
    assert fw.jobs["1"] == 0  # polled through ACT to FIN
    assert "rampart-203.0.113.7" in h.render("block ip", result)
    network = await h.run("block ip", ip="2001:db8::/48")
    assert network.model_dump()["entry"] == "rampart-2001-db8---48"
    assert fw.running.groups["rampart-blocked"][-1] == "rampart-2001-db8---48"


async def test_unblock_ip_removes_it_and_an_absent_address_is_no_change() -> None:
    fw = Firewall()
    h = harness(fw)
    await h.run("block ip", ip="198.51.100.0/24")
    done = await h.run("unblock ip", ip="198.51.100.0/24")
    assert done.model_dump()["commit"] == "OK"
    assert fw.running.addresses == {}
    assert fw.running.groups == {"rampart-blocked": []}
    again = await h.run("unblock ip", ip="198.51.100.0/24")
    assert again.model_dump()["job"] is None
    assert again.model_dump()["commit"] == "no changes"


async def test_block_and_unblock_url_edit_the_custom_url_category() -> None:
    fw = Firewall()
    h = harness(fw, url_category="blocked-urls")
    result = await h.run("block url", url="https://Evil.Example/pay?x=1&y=2")
    assert result.model_dump()["entry"] == "evil.example/pay?x=1&y=2"
    assert fw.running.url_categories == {"blocked-urls": ["evil.example/pay?x=1&y=2"]}
    await h.run("unblock url", url="https://Evil.Example/pay?x=1&y=2")
    assert fw.running.url_categories == {"blocked-urls": []}
    with pytest.raises(ActionError, match="URL category entry"):
        await h.run("block url", url="https://evil.example/a'b")


async def test_keygen_with_the_administrators_password() -> None:
    fw = Firewall()
    h = harness(fw, username="api-admin", password="pa55word!")
    info = await h.run("test connectivity")
    assert info.model_dump() == {
        "hostname": "pa-fake",
        "model": "PA-VM",
        "serial": "007200001234",
        "sw_version": "11.1.2",
    }
    assert len(fw.keys) == 1


async def test_wrong_credentials_are_action_errors_in_the_firewalls_words() -> None:
    fw = Firewall()
    with pytest.raises(ActionError, match="Invalid Credentials") as caught:
        await harness(fw, username="api-admin", password="not-the-password").run(
            "test connectivity"
        )
    assert not isinstance(caught.value, TargetUnavailable)
    assert "not-the-password" not in str(caught.value)
    with pytest.raises(ActionError, match="403: Invalid Credential") as caught:
        await harness(fw, api_key="LUFRPTwrongkey0000").run("block ip", ip="192.0.2.1")
    assert "LUFRPTwrongkey0000" not in str(caught.value)
    assert fw.candidate.addresses == {}


async def test_a_failed_commit_is_an_action_error_with_the_jobs_details() -> None:
    fw = Firewall(commit_fails=True)
    with pytest.raises(ActionError, match=r"ended FAIL: .*unknown group"):
        await harness(fw).run("block ip", ip="192.0.2.1")


async def test_429_and_5xx_are_transient_with_the_products_wait() -> None:
    fw = Firewall()
    h = harness(fw)
    fw.faults.add("/api/", 429, headers={"Retry-After": "4"}, body={}, times=1)
    with pytest.raises(TargetUnavailable) as caught:
        await h.run("block ip", ip="192.0.2.1")
    assert caught.value.retry_after == 4.0
    fw.faults.add("/api/", 503, body="busy", media_type="text/plain")
    with pytest.raises(TargetUnavailable, match="503"):
        await h.run("block ip", ip="192.0.2.1")
    # the retry the runner makes after the wait goes through
    assert (await h.run("block ip", ip="192.0.2.1")).model_dump()["commit"] == "OK"
