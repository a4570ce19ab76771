"""The qemu connector against real ``qemu-system-x86_64`` processes and their QMP sockets.

Each machine is QEMU with no board and no devices (``-machine none``): nothing to boot, yet
a real run state that ``stop``, ``cont`` and ``query-status`` act on. The test checks every
state change on its own QMP connection, not through the connector.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from rampart.connectors.qemu import QemuConnector
from rampart.core.connectors import ConnectorRegistry
from rampart.sdk.connector import ActionError, InvalidConfiguration, TargetUnavailable
from rampart.sdk.testing import ConnectorHarness
from tests._processes import free_port

pytestmark = pytest.mark.slow
QEMU = "qemu-system-x86_64"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@dataclass
class Vm:
    """A running QEMU process and its QMP address."""

    name: str
    address: str
    process: subprocess.Popen[bytes]


def _connect(address: str) -> socket.socket:
    if address.startswith("unix:"):
        sock = socket.socket(socket.AF_UNIX)
        try:
            sock.connect(address[len("unix:") :])
        except OSError:
            sock.close()
            raise
    else:
        host, _, port = address.removeprefix("tcp:").rpartition(":")
        sock = socket.create_connection((host, int(port)))
    sock.settimeout(5)
    return sock


def qmp(address: str, command: str) -> Any:
    """Run one QMP command on a connection of the test's own; its ``return`` value."""
    with contextlib.closing(_connect(address)) as sock, sock.makefile("rwb") as stream:
        assert b'"QMP"' in stream.readline()
        for ident, execute in (("caps", "qmp_capabilities"), ("cmd", command)):
            stream.write(json.dumps({"execute": execute, "id": ident}).encode() + b"\n")
            stream.flush()
            while (answer := json.loads(stream.readline())).get("id") != ident:
                pass
        return answer["return"]


def _start(name: str, qmp_option: str, address: str, log: Path) -> Vm:
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [*(QEMU, "-machine", "none", "-nodefaults", "-display", "none"), "-qmp", qmp_option],
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"qemu exited: {log.read_text()[-2000:]}")
        with contextlib.suppress(OSError):
            _connect(address).close()
            return Vm(name, address, process)
        time.sleep(0.05)
    raise RuntimeError(f"qemu's QMP socket did not open within 20 s: {log.read_text()[-2000:]}")


@pytest.fixture(scope="module")
def vms(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Vm]]:
    """Two machines: one on a Unix socket, one on a TCP port of the loopback."""
    if shutil.which(QEMU) is None:
        reason = "qemu-system-x86_64 is not installed (package qemu-system-x86)"
        if IN_CI:
            pytest.fail(f"CI=true and {reason}", pytrace=False)
        pytest.skip(reason)
    work = tmp_path_factory.mktemp("qemu")
    started: list[Vm] = []
    try:
        path = work / "web.qmp"
        started.append(
            _start("web", f"unix:{path},server=on,wait=off", f"unix:{path}", work / "web.log")
        )
        port = free_port()
        started.append(
            _start(
                "db",
                f"tcp:127.0.0.1:{port},server=on,wait=off",
                f"127.0.0.1:{port}",
                work / "db.log",
            )
        )
        yield {vm.name: vm for vm in started}
    finally:
        for vm in started:
            vm.process.terminate()
            try:
                vm.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                vm.process.kill()
                vm.process.wait(timeout=10)


def harness(vms: dict[str, Vm], **overrides: Any) -> ConnectorHarness[QemuConnector]:
    config = {"vms": {name: vm.address for name, vm in vms.items()}, **overrides}
    return ConnectorHarness(QemuConnector, config)


def test_declaration_matches_the_catalog() -> None:
    ConnectorHarness(QemuConnector, {"vms": {"x": "unix:/run/x.qmp"}}).check()
    assert ConnectorRegistry([QemuConnector]).implementing("get vm status") == ["qemu"]


async def test_suspend_then_resume_as_query_status_reports(vms: dict[str, Vm]) -> None:
    web = vms["web"]
    qemu = harness(vms)
    assert qmp(web.address, "query-status")["status"] == "running"

    suspended = await qemu.run("suspend vm", vm="web")
    assert suspended.model_dump() == {
        "vm": "web",
        "status": "paused",
        "running": False,
        "changed": True,
    }
    assert qmp(web.address, "query-status") == {
        "status": "paused",
        "running": False,
        "singlestep": False,
    }
    again = await qemu.run("suspend vm", vm="web")
    assert again.model_dump()["changed"] is False
    status = await qemu.run("get vm status", vm="web")
    assert status.model_dump() == {"vm": "web", "status": "paused", "running": False}
    assert "web</strong> is paused" in qemu.render("suspend vm", suspended)

    resumed = await qemu.run("resume vm", vm="web")
    assert resumed.model_dump() == {
        "vm": "web",
        "status": "running",
        "running": True,
        "changed": True,
    }
    assert qmp(web.address, "query-status")["running"] is True
    assert (await qemu.run("resume vm", vm="web")).model_dump()["changed"] is False


async def test_each_vm_is_reached_on_its_own_socket(vms: dict[str, Vm]) -> None:
    qemu = harness(vms)
    await qemu.run("suspend vm", vm="db")
    try:
        assert qmp(vms["db"].address, "query-status")["status"] == "paused"
        assert qmp(vms["web"].address, "query-status")["status"] == "running"
    finally:
        await qemu.run("resume vm", vm="db")
    reached = (await qemu.run("test connectivity")).model_dump()["vms"]
    assert {(r["vm"], r["status"]) for r in reached} == {("web", "running"), ("db", "running")}
    version = qmp(vms["web"].address, "query-version")["qemu"]
    assert reached[0]["qemu_version"] == f"{version['major']}.{version['minor']}.{version['micro']}"


async def test_unknown_vm_and_unreachable_socket_fail_clearly(
    vms: dict[str, Vm], tmp_path: Path
) -> None:
    with pytest.raises(ActionError, match="no virtual machine 'mail' on this asset"):
        await harness(vms).run("get vm status", vm="mail")
    gone = ConnectorHarness(QemuConnector, {"vms": {"gone": f"unix:{tmp_path}/none.qmp"}})
    with pytest.raises(TargetUnavailable, match="is unreachable"):
        await gone.run("suspend vm", vm="gone")
    with pytest.raises(TargetUnavailable, match="gone: QMP"):
        await gone.run("test connectivity")


def test_bad_addresses_are_refused_naming_the_vm() -> None:
    with pytest.raises(InvalidConfiguration) as caught:
        QemuConnector.parse_config({"vms": {"web": "unix:relative.qmp", "db": "db:notaport"}})
    message = " ".join(e["message"] for e in caught.value.errors)
    assert "vm 'web'" in message
    assert [e["field"] for e in caught.value.errors] == ["config.vms"]
    with pytest.raises(InvalidConfiguration):
        QemuConnector.parse_config({"vms": {}})


BROKER_VERBS = ("suspend vm", "get vm status")
"""The verbs the through-the-broker test below drives, in this order (the catalog coverage test
reads them)."""


async def test_playbook_suspends_a_vm_and_reads_its_state_through_the_broker(
    vms: dict[str, Vm], playbook_run: Any
) -> None:
    web = vms["web"]
    try:
        run = await playbook_run(
            "qemu",
            {"vms": {"web": web.address}},
            f"""
out = {{}}
for verb in {BROKER_VERBS!r}:
    [outcome] = (await ctx.act(verb, asset=ASSET, vm="web")).results
    out[verb] = {{"status": outcome.status, "data": outcome.data}}
return out
""",
        )
        assert run["status"] == "completed", run
        assert qmp(web.address, "query-status")["status"] == "paused"
        result = run["result"]
        assert set(result) == set(BROKER_VERBS)
        assert {verb: r["status"] for verb, r in result.items()} == dict.fromkeys(
            BROKER_VERBS, "success"
        )
        assert result["suspend vm"]["data"] == [
            {"vm": "web", "status": "paused", "running": False, "changed": True}
        ]
        assert result["get vm status"]["data"] == [
            {"vm": "web", "status": "paused", "running": False}
        ]
    finally:
        qmp(web.address, "cont")
