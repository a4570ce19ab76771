"""The vsphere connector against a fake vSphere Automation REST API.

The fake (connectors/tests/fakes/vsphere.py) follows Broadcom's "vSphere Automation API"
reference (https://developer.broadcom.com/xapis/vsphere-automation-api/latest): Create
Session, List VM, Get Vm Power and "Vcenter Vm Power suspend" (https://developer.broadcom.com
/xapis/vsphere-automation-api/latest/api/vcenter/vm/vm/power__action=suspend/post).
"""

from __future__ import annotations

import httpx
import pytest

from connectors.tests.fakes.vsphere import Vcenter, make_app
from rampart.connectors.vsphere import VsphereConnector
from rampart.sdk.connector import ActionError, TargetUnavailable
from rampart.sdk.testing import ConnectorHarness

PASSWORD = "Vc-pass1!"


def harness(vc: Vcenter, password: str = PASSWORD) -> ConnectorHarness[VsphereConnector]:
    return ConnectorHarness(
        VsphereConnector,
        {"url": "https://vc.example", "username": "rampart@vsphere.local", "password": password},
        http=httpx.ASGITransport(app=make_app(vc)),
    )


def test_the_declaration_matches_the_catalog() -> None:
    harness(Vcenter()).check()


async def test_suspend_and_resume_by_name_with_a_session_that_is_closed_after() -> None:
    vc = Vcenter()
    h = harness(vc)
    suspended = await h.run("suspend vm", vm="web-01")
    assert suspended.model_dump() == {
        "vm": "vm-42",
        "name": "web-01",
        "power_state": "SUSPENDED",
        "changed": True,
    }
    assert vc.vms["vm-42"]["power_state"] == "SUSPENDED"
    again = await h.run("suspend vm", vm="vm-42")
    assert again.model_dump()["changed"] is False
    resumed = await h.run("resume vm", vm="web-01")
    assert resumed.model_dump()["power_state"] == "POWERED_ON"
    assert vc.sessions == set()  # every session was deleted
    assert "SUSPENDED" in h.render("suspend vm", suspended)
    assert (await h.run("test connectivity")).model_dump() == {"ok": True, "vms": 2}


async def test_refusals_are_action_errors_in_vcenters_words() -> None:
    vc = Vcenter()
    with pytest.raises(ActionError, match="powered off"):
        await harness(vc).run("suspend vm", vm="db-01")
    with pytest.raises(ActionError, match="no VM named 'nope'"):
        await harness(vc).run("suspend vm", vm="nope")
    with pytest.raises(ActionError, match="401: Authentication required") as caught:
        await harness(vc, password="wrong-password-1").run("suspend vm", vm="web-01")
    assert not isinstance(caught.value, TargetUnavailable)
    assert "wrong-password-1" not in str(caught.value)
    assert vc.vms["vm-42"]["power_state"] == "POWERED_ON"


async def test_429_and_503_are_transient() -> None:
    vc = Vcenter()
    vc.faults.add("/api/vcenter/vm", 429, headers={"Retry-After": "2"}, body={})
    with pytest.raises(TargetUnavailable) as caught:
        await harness(vc).run("suspend vm", vm="web-01")
    assert caught.value.retry_after == 2.0
    vc.faults.add("/api/session", 503, body={"error_type": "SERVICE_UNAVAILABLE"})
    with pytest.raises(TargetUnavailable, match="503"):
        await harness(vc).run("suspend vm", vm="web-01")
    assert (await harness(vc).run("suspend vm", vm="web-01")).model_dump()["changed"] is True
