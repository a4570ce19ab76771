"""A Linux host in a network namespace of this machine: sshd with its own keys, on a veth pair.

``rampart demo host`` keeps one up for the tutorial; the ssh connector's tests start one per
session. The namespace and this machine are joined by a veth pair with link-local addresses
(a /24 in 169.254.0.0/16 that no route here touches): this machine's end has the management
address and a spare one, the namespace's end the host's address, where sshd listens. Nothing
is routed beyond the pair, so no traffic leaves the machine, and nftables rules made inside
the namespace stay there.

Only the network is the namespace's own: processes, files and users are this machine's, so the
client key logs in as root here. sshd takes that one key and no password, and listens on the
namespace's address only. It runs as a daemon (``-E`` keeps its log), so it outlives the
command that started it; :func:`stop_host` ends every process of the namespace.
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SSHD = "/usr/sbin/sshd"
TOOLS = {SSHD: "openssh-server", "ip": "iproute2", "nft": "nftables", "gcore": "gdb"}
"""The commands a namespace host needs, and the Debian package of each."""


class HostSetupError(RuntimeError):
    """The namespace host could not be made; the message says what failed."""


class NamespacesRefused(HostSetupError):
    """This machine makes no network namespace for us (no root, or a confined container)."""


def missing_packages() -> list[str]:
    """The packages to install before a namespace host can run here."""
    return [package for tool, package in TOOLS.items() if shutil.which(tool) is None]


def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a command of iproute2 or the like, with its output captured."""
    return subprocess.run(args, capture_output=True, text=True, check=check, timeout=30)


def free_subnet() -> ipaddress.IPv4Network:
    """A /24 in 169.254.0.0/16 that no route of this machine touches."""
    routes = run("ip", "-4", "route", "show", "table", "all").stdout
    used = [
        ipaddress.ip_network(word, strict=False)
        for line in routes.splitlines()
        for word in line.split()[:2]
        if word[0].isdigit()
    ]
    for third in range(120, 250):
        candidate = ipaddress.IPv4Network(f"169.254.{third}.0/24")
        if not any(candidate.overlaps(u) for u in used):
            return candidate
    raise HostSetupError("no free link-local /24 for the namespace")


def namespace_exists(namespace: str) -> bool:
    """Whether ``ip netns`` knows a namespace of that name."""
    listed = run("ip", "netns", "list", check=False).stdout.split("\n")
    return any(line.split(" ", 1)[0] == namespace for line in listed)


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie has ended: only its exit status is left)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


@dataclass(frozen=True, slots=True)
class NamespaceHost:
    """A running sshd in a namespace, and how to reach it."""

    namespace: str
    outer: str
    address: str
    port: int
    management_address: str
    spare_address: str
    host_key: str
    client_key: str
    workdir: Path
    dump_dir: Path | None = None

    @property
    def log(self) -> Path:
        """sshd's log (``LogLevel VERBOSE``: each login is in it)."""
        return self.workdir / "sshd.log"

    @property
    def client_key_path(self) -> Path:
        """The private key that logs in as root, mode 0600."""
        return self.workdir / "id_ed25519"

    def config(self, **overrides: Any) -> dict[str, Any]:
        """An asset configuration of the ssh connector that reaches this host."""
        config: dict[str, Any] = {
            "host": self.address,
            "port": self.port,
            "username": "root",
            "host_key": self.host_key,
            "private_key": self.client_key,
        }
        if self.dump_dir is not None:
            config["dump_dir"] = str(self.dump_dir)
        return config | overrides

    def in_namespace(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run a command inside the host's network namespace."""
        return run("ip", "netns", "exec", self.namespace, *args, check=check)

    def start_in_namespace(self, *args: str) -> int:
        """Start a long-running command in the namespace, detached from this one; its pid."""
        # `ip netns exec` enters the namespace and execs the command: the pid is the command's
        process = subprocess.Popen(
            ["ip", "netns", "exec", self.namespace, *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        return process.pid


def _sshd_config(workdir: Path, address: str, port: int) -> str:
    return (
        f"Port {port}\nListenAddress {address}\nHostKey {workdir / 'host_key'}\n"
        f"PidFile {workdir / 'sshd.pid'}\nAuthorizedKeysFile {workdir / 'authorized_keys'}\n"
        "PermitRootLogin prohibit-password\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nLogLevel VERBOSE\n"
    )


def _write_secret(path: Path, text: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.write(text)


def _wait_listening(address: str, port: int, log: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((address, port), timeout=1):
            return
        time.sleep(0.1)
    tail = log.read_text()[-2000:] if log.exists() else "(no log)"
    raise HostSetupError(f"sshd did not listen on {address}:{port} within 15 s: {tail}")


def start_host(
    *,
    namespace: str,
    outer: str,
    inner: str,
    workdir: Path,
    port: int,
    subnet: ipaddress.IPv4Network | None = None,
    dump_dir: Path | None = None,
) -> NamespaceHost:
    """Make the namespace, its veth pair and keys, start sshd in it; as root.

    ``dump_dir`` is where the ssh connector writes process dumps on the host (its default
    otherwise). On a failure everything made so far is removed again and
    :class:`HostSetupError` says why.
    """
    import asyncssh  # a second or two to import; only setting a host up needs it

    workdir = workdir.resolve()  # the daemon works from /
    subnet = subnet or free_subnet()
    hosts = list(subnet.hosts())
    management, address, spare = str(hosts[0]), str(hosts[1]), str(hosts[2])
    workdir.mkdir(parents=True, exist_ok=True)
    host_key = asyncssh.generate_private_key("ssh-ed25519")
    client_key = asyncssh.generate_private_key("ssh-ed25519")
    _write_secret(workdir / "host_key", host_key.export_private_key().decode())
    _write_secret(workdir / "id_ed25519", client_key.export_private_key().decode())
    (workdir / "authorized_keys").write_bytes(client_key.export_public_key())
    (workdir / "sshd_config").write_text(_sshd_config(workdir, address, port))
    Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege separation folder
    prefix = f"/{subnet.prefixlen}"
    ns = ("ip", "netns", "exec", namespace)
    try:
        try:
            run("ip", "netns", "add", namespace)
        except subprocess.CalledProcessError as exc:
            raise NamespacesRefused(
                f"cannot create a network namespace: {exc.stderr.strip()}"
            ) from None
        for step in (
            ("ip", "link", "add", outer, "type", "veth", "peer", "name", inner),
            ("ip", "link", "set", inner, "netns", namespace),
            ("ip", "addr", "add", management + prefix, "dev", outer),
            ("ip", "addr", "add", spare + prefix, "dev", outer),
            ("ip", "link", "set", outer, "up"),
            (*ns, "ip", "addr", "add", address + prefix, "dev", inner),
            (*ns, "ip", "link", "set", inner, "up"),
            (*ns, "ip", "link", "set", "lo", "up"),
            (*ns, SSHD, "-f", str(workdir / "sshd_config"), "-E", str(workdir / "sshd.log")),
        ):
            try:
                run(*step)
            except subprocess.CalledProcessError as exc:
                raise HostSetupError(f"{' '.join(step)}: {exc.stderr.strip()}") from None
        _wait_listening(address, port, workdir / "sshd.log")
    except BaseException:
        stop_host(namespace=namespace, outer=outer)
        raise
    return NamespaceHost(
        namespace=namespace,
        outer=outer,
        address=address,
        port=port,
        management_address=management,
        spare_address=spare,
        host_key=host_key.export_public_key().decode().strip(),
        client_key=client_key.export_private_key().decode(),
        workdir=workdir,
        dump_dir=dump_dir,
    )


def _namespace_pids(namespace: str) -> list[int]:
    listed = run("ip", "netns", "pids", namespace, check=False).stdout.split()
    return [int(pid) for pid in listed if pid.isdigit()]


def stop_host(*, namespace: str, outer: str) -> None:
    """End every process in the namespace (SIGTERM, then SIGKILL), remove the pair and it."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        pids = _namespace_pids(namespace)
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + 5
        while pids and time.monotonic() < deadline:
            pids = _namespace_pids(namespace)
            time.sleep(0.05)
        if not pids:
            break
    run("ip", "link", "del", outer, check=False)
    run("ip", "netns", "del", namespace, check=False)
