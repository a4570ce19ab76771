"""The connectors' test systems, and Rampart running a playbook that acts on them.

``playbook_run`` starts all five services on the shared harness (``start_services``), makes
an asset of a connector through the asset registry's API, posts an event to ingest and
returns the run of a playbook whose ``ctx.act`` the broker hands to the connector's runner:
the path of a real action, end to end.

A real OpenSSH server in a network namespace of its own, with throwaway keys.

The namespace is joined to this machine by a veth pair with link-local addresses that exist
only for the test, so nftables changes made through the connector stay inside it and no
traffic leaves the machine. Without sshd, ip or root the tests skip with the reason; with
``CI=true`` they fail instead.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncssh
import pytest

from rampart.core.auth import Role
from tests.harness import StartServices, eventually

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
SSHD = "/usr/sbin/sshd"
TOOLS = {SSHD: "openssh-server", "ip": "iproute2", "nft": "nftables", "gcore": "gdb"}


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"CI=true and {reason}: CI must run the SSH connector tests", pytrace=False)
    pytest.skip(reason)


def _run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, check=check, timeout=30)


def _free_subnet() -> ipaddress.IPv4Network:
    """A /24 in 169.254.0.0/16 that no route of this machine touches."""
    routes = _run("ip", "-4", "route", "show", "table", "all").stdout
    used = [
        ipaddress.ip_network(word, strict=False)
        for line in routes.splitlines()
        for word in line.split()[:2]
        if word[0].isdigit()
    ]
    for third in range(120, 250):
        candidate = ipaddress.ip_network(f"169.254.{third}.0/24")
        if not any(candidate.overlaps(u) for u in used):
            return candidate
    raise RuntimeError("no free link-local /24 for the test namespace")


@dataclass
class SshHost:
    """A running sshd in a namespace, and how to reach it."""

    namespace: str
    address: str
    port: int
    management_address: str
    spare_address: str
    host_key: str
    client_key: str
    workdir: Path
    log: Path

    def config(self, **overrides: Any) -> dict[str, Any]:
        """An asset configuration for the ssh connector that reaches this server."""
        return {
            "host": self.address,
            "port": self.port,
            "username": "root",
            "host_key": self.host_key,
            "private_key": self.client_key,
            "dump_dir": str(self.workdir / "dumps"),
            "connect_timeout_s": 10,
            "command_timeout_s": 60,
            **overrides,
        }

    def in_namespace(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run a command inside the server's network namespace."""
        return _run("ip", "netns", "exec", self.namespace, *args, check=check)


def _wait_listening(address: str, port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"sshd exited: {log.read_text()[-2000:]}")
        with contextlib.suppress(OSError), socket.create_connection((address, port), timeout=1):
            return
        time.sleep(0.1)
    raise RuntimeError(f"sshd did not listen within 15 s: {log.read_text()[-2000:]}")


@pytest.fixture(scope="session")
def ssh_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshHost]:
    """sshd on a free port in a fresh network namespace, as root, with throwaway keys."""
    missing = [pkg for tool, pkg in TOOLS.items() if shutil.which(tool) is None]
    if missing:
        _unavailable(f"missing system packages: {', '.join(missing)}")
    if os.geteuid() != 0:
        _unavailable("the SSH connector tests need root (sshd, ip netns, nftables)")
    tag = uuid.uuid4().hex[:6]
    namespace, outer, inner = f"rmpt-{tag}", f"rmpa{tag}", f"rmpb{tag}"
    subnet = _free_subnet()
    hosts = list(subnet.hosts())
    management, address, spare = str(hosts[0]), str(hosts[1]), str(hosts[2])
    work = tmp_path_factory.mktemp("sshd")
    (work / "dumps").mkdir()
    host_key = asyncssh.generate_private_key("ssh-ed25519")
    client_key = asyncssh.generate_private_key("ssh-ed25519")
    host_key.write_private_key(str(work / "host_key"))
    (work / "host_key").chmod(0o600)
    client_key.write_public_key(str(work / "authorized_keys"))
    port = 20000 + int(tag, 16) % 20000
    log = work / "sshd.log"
    (work / "sshd_config").write_text(
        f"Port {port}\nListenAddress {address}\nHostKey {work / 'host_key'}\n"
        f"PidFile {work / 'sshd.pid'}\nAuthorizedKeysFile {work / 'authorized_keys'}\n"
        "PermitRootLogin prohibit-password\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nLogLevel VERBOSE\n"
    )
    Path("/run/sshd").mkdir(exist_ok=True)
    proc: subprocess.Popen[bytes] | None = None
    try:
        try:
            _run("ip", "netns", "add", namespace)
        except subprocess.CalledProcessError as exc:
            _unavailable(f"cannot create a network namespace: {exc.stderr.strip()}")
        _run("ip", "link", "add", outer, "type", "veth", "peer", "name", inner)
        _run("ip", "link", "set", inner, "netns", namespace)
        _run("ip", "addr", "add", f"{management}/{subnet.prefixlen}", "dev", outer)
        _run("ip", "addr", "add", f"{spare}/{subnet.prefixlen}", "dev", outer)
        _run("ip", "link", "set", outer, "up")
        ns = ("ip", "netns", "exec", namespace)
        _run(*ns, "ip", "addr", "add", f"{address}/{subnet.prefixlen}", "dev", inner)
        _run(*ns, "ip", "link", "set", inner, "up")
        _run(*ns, "ip", "link", "set", "lo", "up")
        with log.open("wb") as sink:
            proc = subprocess.Popen(
                [*ns, SSHD, "-D", "-e", "-f", str(work / "sshd_config")],
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        _wait_listening(address, port, proc, log)
        yield SshHost(
            namespace=namespace,
            address=address,
            port=port,
            management_address=management,
            spare_address=spare,
            host_key=host_key.export_public_key().decode(),
            client_key=client_key.export_private_key().decode(),
            workdir=work,
            log=log,
        )
    finally:
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        leftover = _run("ip", "netns", "pids", namespace, check=False).stdout.split()
        for pid in leftover:
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), signal.SIGKILL)
        _run("ip", "link", "del", outer, check=False)
        _run("ip", "netns", "del", namespace, check=False)


PlaybookRun = Callable[..., Awaitable[dict[str, Any]]]


@pytest.fixture
def playbook_run(start_services: StartServices, tmp_path: Path) -> PlaybookRun:
    """``await playbook_run(connector, config, body)``: the finished run of a playbook.

    ``body`` is the playbook function's body; ``ASSET`` in it names the asset made of
    ``connector`` and ``config`` (no approval needed: the test drives the product, not the
    approvals). The event that starts the run is posted to the real ingest service.
    """
    from rampart.engine.config import EngineSettings
    from rampart.engine.spec import build_spec

    async def run(connector: str, config: dict[str, Any], body: str) -> dict[str, Any]:
        tag = uuid.uuid4().hex[:8]
        asset, label, name = f"{connector}-{tag}", f"e2e-{tag}", f"acting_{tag}"
        folder = tmp_path / "playbooks"
        folder.mkdir()
        indented = "\n".join("    " + line for line in body.strip().splitlines())
        (folder / "acting.py").write_text(
            "from rampart.sdk.playbook import playbook\n\n"
            f"ASSET = {asset!r}\n\n"
            f"@playbook(labels=[{label!r}])\n"
            f"async def {name}(ctx, event):\n{indented}\n"
        )
        engine = build_spec(
            config=EngineSettings(playbooks_dir=folder, processes=1, sync_interval_s=0.2)
        )
        async with (
            start_services(replace=[engine], bus_retry_delay_ms=20) as services,
            services.client(Role.ADMIN) as client,
        ):
            owner = await client.post("/api/v1/owners", json={"name": f"owner-{tag}"})
            assert owner.status_code == 201, owner.text
            made = await client.post(
                "/api/v1/assets",
                json={
                    "name": asset,
                    "connector": connector,
                    "config": config,
                    "primary_owners": [owner.json()["id"]],
                    "approval_policy": {"kinds": []},
                },
            )
            assert made.status_code == 201, made.text
            posted = await client.post("/api/v1/events", json={"name": tag, "labels": [label]})
            assert posted.status_code == 202, posted.text

            async def ended() -> dict[str, Any] | None:
                runs = await client.get("/api/v1/runs", params={"playbook": name})
                assert runs.status_code == 200, runs.text
                done = [r for r in runs.json() if r["status"] in ("completed", "failed")]
                return dict(done[0]) if done else None

            finished = await eventually(ended, timeout=60, what="the playbook run ended")
            detail = await client.get(f"/api/v1/runs/{finished['id']}")
            assert detail.status_code == 200, detail.text
            return dict(detail.json())

    return run
