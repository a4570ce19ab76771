"""``rampart demo host``: a Linux host to try Rampart on, in a network namespace of this machine.

The host is sshd in the namespace ``rampart-demo`` (see ``_namespace_host``), a process named
``demo-malware`` running in it, and nftables for ``block ip``. What the ssh connector needs to
reach it is kept in ``<data dir>/demo-host/`` (``.rampart/demo-host`` by default): the client
key and ``ssh-config.json``, the asset configuration to give Rampart. Run with ``sudo``, those
two files belong to the user who ran it (``SUDO_UID``), readable by them only; the folder and
sshd's files stay root's.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from rampart.cli._namespace_host import (
    HostSetupError,
    NamespaceHost,
    missing_packages,
    namespace_exists,
    process_alive,
    start_host,
    stop_host,
)

EXIT_NEEDS_SYSTEM = 6
"""The command needs something of this machine it lacks: root, or a system package."""

NAMESPACE = "rampart-demo"
OUTER, INNER = "rampart-demo0", "rampart-demo1"
SSH_PORT = 22
MALWARE = "demo-malware"
"""The malicious process's name: a copy of ``sleep`` that waits to be stopped."""

demo_app = typer.Typer(help="A demo Linux host to try Rampart on.", no_args_is_help=True)


@dataclass(frozen=True, slots=True)
class DemoState:
    """What ``host.json`` in the demo folder remembers between commands."""

    address: str
    management_address: str
    port: int
    host_key: str
    malware_pid: int
    started_at: str

    @classmethod
    def read(cls, path: Path) -> DemoState | None:
        """The remembered state, or None when there is none (or it is not readable)."""
        try:
            return cls(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError):
            return None


def _folder() -> Path:
    from rampart.core.settings import Settings

    return Settings().data_dir / "demo-host"


def _shown(path: Path) -> str:
    """A path as the user can type it: relative to where they are, when it is below."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path.resolve())


def _give_to_invoker(path: Path) -> None:
    """Under sudo, make ``path`` the invoking user's: they read the key and the config."""
    uid, gid = os.environ.get("SUDO_UID"), os.environ.get("SUDO_GID")
    if uid and gid and uid.isdigit() and gid.isdigit():
        os.chown(path, int(uid), int(gid))


def _make_folder(folder: Path) -> None:
    """The demo folder, root's; a data folder made for it is the user's, for ``make run``."""
    missing = [p for p in folder.parents if not p.exists()]
    folder.mkdir(mode=0o755, parents=True)
    for made in missing:
        _give_to_invoker(made)


def _require_root_and_tools() -> None:
    if os.geteuid() != 0:
        typer.echo(
            "error: rampart demo host needs root: it makes a network namespace and runs sshd "
            "in it. Run it with sudo, e.g. sudo .venv/bin/rampart demo host",
            err=True,
        )
        raise typer.Exit(EXIT_NEEDS_SYSTEM)
    missing = missing_packages()
    if missing:
        typer.echo(
            f"error: rampart demo host needs these packages: {' '.join(missing)} "
            f"(e.g. apt-get install {' '.join(missing)})",
            err=True,
        )
        raise typer.Exit(EXIT_NEEDS_SYSTEM)


def _bring_up(folder: Path) -> DemoState:
    if folder.exists():
        shutil.rmtree(folder)
    _make_folder(folder)
    host: NamespaceHost = start_host(
        namespace=NAMESPACE, outer=OUTER, inner=INNER, workdir=folder, port=SSH_PORT
    )
    config = folder / "ssh-config.json"
    descriptor = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as out:
        json.dump(host.config(), out, indent=2)
        out.write("\n")
    for path in (config, host.client_key_path):
        _give_to_invoker(path)
    malware = folder / MALWARE
    shutil.copy(shutil.which("sleep") or "/bin/sleep", malware)
    state = DemoState(
        address=host.address,
        management_address=host.management_address,
        port=host.port,
        host_key=host.host_key,
        malware_pid=host.start_in_namespace(str(malware), "infinity"),
        started_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    (folder / "host.json").write_text(json.dumps(asdict(state)))
    return state


def _describe(state: DemoState, folder: Path, *, fresh: bool) -> None:
    malware = "running" if process_alive(state.malware_pid) else "not running"
    lines = [
        f"The demo host is {'up' if fresh else 'still up'}: network namespace {NAMESPACE} "
        f"of this machine, since {state.started_at}.",
        f"  address      {state.address}, port {state.port}",
        "  user         root",
        f"  private key  {_shown(folder / 'id_ed25519')}",
        f"  host key     {state.host_key}",
        f"  asset config {_shown(folder / 'ssh-config.json')}  (the ssh connector's config)",
        f"  malware      pid {state.malware_pid} ({MALWARE}): {malware}",
        "The key logs in as root on this machine: keep it to yourself.",
        "Tear it down with: sudo .venv/bin/rampart demo host --down",
    ]
    typer.echo("\n".join(lines))


@demo_app.command("host")
def host(
    down: Annotated[
        bool, typer.Option("--down", help="tear the demo host down: namespace, sshd, keys")
    ] = False,
) -> None:
    """Set up the demo host (or show it, when it is up); needs root."""
    _require_root_and_tools()
    folder = _folder()
    state = DemoState.read(folder / "host.json")
    if down:
        was_up = namespace_exists(NAMESPACE)
        stop_host(namespace=NAMESPACE, outer=OUTER)
        if folder.exists():
            shutil.rmtree(folder)
        typer.echo(
            f"The demo host is down: namespace {NAMESPACE}, its processes and keys are gone."
            if was_up or state is not None
            else "No demo host was up."
        )
        return
    if state is not None and namespace_exists(NAMESPACE):
        _describe(state, folder, fresh=False)
        return
    if namespace_exists(NAMESPACE):
        # left over from a folder that is gone (another data folder, or removed by hand)
        stop_host(namespace=NAMESPACE, outer=OUTER)
    try:
        state = _bring_up(folder)
    except HostSetupError as exc:
        typer.echo(f"error: the demo host could not be set up: {exc}", err=True)
        raise typer.Exit(EXIT_NEEDS_SYSTEM) from None
    _describe(state, folder, fresh=True)
