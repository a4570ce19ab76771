"""The ssh connector against a real OpenSSH server: processes, core dumps, nftables, host keys.

The server runs in a network namespace of its own (see conftest.py); processes are started
by the test on this machine, which is the host the connector logs in to.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncssh
import pytest

from rampart.connectors.ssh import SshConnector
from rampart.core.connectors import ConnectorRegistry
from rampart.sdk.connector import ActionContext, ActionError, InvalidConfiguration, Vault
from rampart.sdk.testing import ConnectorHarness
from tests.harness import memory_only

pytestmark = pytest.mark.slow


def _connector(host: Any, **overrides: Any) -> SshConnector:
    return SshConnector(SshConnector.parse_config(host.config(**overrides)))  # type: ignore[arg-type]


def _ctx(vault: Vault | None = None) -> ActionContext:
    return ActionContext(asset="linux-test", vault=vault)


@contextlib.contextmanager
def _process(*argv: str) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def _wait_comm(pid: int, name: str) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            if Path(f"/proc/{pid}/comm").read_text().strip() == name:
                return
        time.sleep(0.02)
    raise AssertionError(f"process {pid} did not become {name!r}")


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state == "Z"


def test_connector_declaration_matches_the_catalog() -> None:
    registry = ConnectorRegistry([SshConnector])
    assert registry.implementing("block ip") == ["ssh"]
    assert set(SshConnector.bindings()) == {
        "test connectivity",
        "list processes",
        "terminate process",
        "get process dump",
        "block ip",
        "unblock ip",
        "run script",
        "get file",
    }


def test_the_containment_actions_have_widgets_that_escape_the_hosts_words() -> None:
    from rampart.core.widgets import render_widget

    bindings = SshConnector.bindings()
    digest = "ab" * 32
    dump = {
        "host": "web-01",
        "pid": 4242,
        "name": "<b>evil</b>",
        "file": {"sha256": digest, "size": 8192},
    }
    shown = render_widget(bindings["get process dump"].widget or "", dump)
    assert "4242" in shown
    assert digest in shown
    assert "8192 bytes" in shown
    assert "&lt;b&gt;evil&lt;/b&gt;" in shown
    assert "<b>" not in shown
    stopped = {"host": "web-01", "processes": [{"pid": 4242, "name": "x", "outcome": "killed"}]}
    shown = render_widget(bindings["terminate process"].widget or "", stopped)
    assert "4242" in shown
    assert "killed" in shown
    block = {"host": "web-01", "ip": "198.51.100.66", "blocked": True, "changed": True}
    block |= {"table": "inet rampart", "set": "blocked_v4", "covered_by": None}
    shown = render_widget(bindings["block ip"].widget or "", block)
    assert "198.51.100.66" in shown
    assert "blocked_v4" in shown
    assert "not blocked" not in shown
    block |= {"blocked": False}
    assert "not blocked" in render_widget(bindings["unblock ip"].widget or "", block)


async def test_connectivity_logs_in_with_the_pinned_host_key(ssh_host: Any) -> None:
    result = await _connector(ssh_host).run("test connectivity", {}, _ctx())
    assert result.model_dump()["user"] == "root"
    assert result.model_dump()["uid"] == 0
    assert result.model_dump()["tools"] == {"gcore": True, "nft": True, "flock": True}
    assert "Accepted publickey for root" in ssh_host.log.read_text()


async def test_actions_reach_the_host_through_the_context_ssh_transport(ssh_host: Any) -> None:
    dialled: list[tuple[str, int, str]] = []

    async def connect(host: str, port: int, **options: Any) -> Any:
        dialled.append((host, port, options["username"]))
        return await asyncssh.connect(host, port, **options)

    harness = ConnectorHarness(SshConnector, ssh_host.config(), ssh=connect)
    harness.check()
    result = await harness.run("list processes", name="sshd")
    assert dialled == [(ssh_host.address, ssh_host.port, "root")]
    assert result.model_dump()["count"] >= 1
    assert "processes on" in harness.render("list processes", result)


async def test_a_wrong_host_key_is_refused(ssh_host: Any) -> None:
    impostor = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode()
    before = ssh_host.log.read_text().count("Accepted publickey")
    with pytest.raises(ActionError, match="host key that does not match"):
        await _connector(ssh_host, host_key=impostor).run("test connectivity", {}, _ctx())
    # The client gave up before authenticating: no login happened with the wrong key pinned.
    assert ssh_host.log.read_text().count("Accepted publickey") == before


async def test_configuration_errors_name_the_field_and_never_echo_a_key(ssh_host: Any) -> None:
    bogus_key = "-----BEGIN OPENSSH PRIVATE KEY-----\nc2VjcmV0LXZhbHVlLTQyNDI=\n-----END"
    with pytest.raises(InvalidConfiguration) as caught:
        SshConnector.parse_config(ssh_host.config(private_key=bogus_key))
    assert caught.value.errors[0]["field"] == "config"
    assert "c2VjcmV0LXZhbHVlLTQyNDI" not in str(caught.value.errors)
    with pytest.raises(InvalidConfiguration) as caught:
        SshConnector.parse_config(ssh_host.config(host_key="not a key", port=0))
    fields = {e["field"] for e in caught.value.errors}
    assert fields == {"config.host_key", "config.port"}


async def test_list_processes_finds_a_process_by_name(ssh_host: Any, tmp_path: Path) -> None:
    name = f"rmpl{uuid.uuid4().hex[:8]}"
    binary = tmp_path / name
    shutil.copy("/bin/sleep", binary)
    with _process(str(binary), "300") as proc:
        _wait_comm(proc.pid, name)
        result = await _connector(ssh_host).run("list processes", {"name": name}, _ctx())
    listing = result.model_dump()
    assert [p["pid"] for p in listing["processes"]] == [proc.pid]
    assert listing["processes"][0]["command"] == f"{binary} 300"


async def test_terminate_by_pid_really_ends_the_process(ssh_host: Any) -> None:
    with _process("sleep", "300") as proc:
        _wait_comm(proc.pid, "sleep")
        result = await _connector(ssh_host).run(
            "terminate process", {"pid": proc.pid, "grace_seconds": 5}, _ctx()
        )
        assert proc.wait(timeout=10) == -signal.SIGTERM
    assert result.model_dump()["processes"] == [
        {"pid": proc.pid, "name": "sleep", "outcome": "terminated"}
    ]
    assert _gone(proc.pid)
    again = await _connector(ssh_host).run("terminate process", {"pid": proc.pid}, _ctx())
    assert again.model_dump()["processes"][0]["outcome"] == "not running"


async def test_terminate_by_name_escalates_to_sigkill(ssh_host: Any, tmp_path: Path) -> None:
    name = f"rmpt{uuid.uuid4().hex[:8]}"
    binary = tmp_path / name
    shutil.copy("/bin/sleep", binary)
    # Ignoring SIGTERM survives exec, so only SIGKILL can end these two.
    script = f'trap "" TERM; exec {binary} 300'
    with _process("sh", "-c", script) as first, _process("sh", "-c", script) as second:
        _wait_comm(first.pid, name)
        _wait_comm(second.pid, name)
        started = time.monotonic()
        result = await _connector(ssh_host).run(
            "terminate process", {"name": name, "grace_seconds": 0.5}, _ctx()
        )
        assert first.wait(timeout=10) == -signal.SIGKILL
        assert second.wait(timeout=10) == -signal.SIGKILL
    assert time.monotonic() - started >= 0.5
    outcomes = {p["pid"]: p["outcome"] for p in result.model_dump()["processes"]}
    assert outcomes == {first.pid: "killed", second.pid: "killed"}


async def test_terminate_refuses_a_pid_whose_name_differs(ssh_host: Any) -> None:
    with _process("sleep", "300") as proc:
        _wait_comm(proc.pid, "sleep")
        with pytest.raises(ActionError, match="not 'nginx'"):
            await _connector(ssh_host).run(
                "terminate process", {"pid": proc.pid, "name": "nginx"}, _ctx()
            )
        assert proc.poll() is None


@pytest.fixture
async def vault(pool: Any) -> Vault:
    store = Vault(pool, chunk_size=64 * 1024)
    await store.prepare()
    return store


async def test_process_dump_lands_in_the_vault(ssh_host: Any, vault: Vault) -> None:
    with _process("sleep", "300") as proc:
        _wait_comm(proc.pid, "sleep")
        result = await _connector(ssh_host).run("get process dump", {"pid": proc.pid}, _ctx(vault))
        assert proc.poll() is None, "gcore must leave the process running"
    dump = result.model_dump()
    assert dump["pid"] == proc.pid
    assert dump["name"] == "sleep"
    ref = dump["file"]
    stored = await vault.read_bytes(ref["sha256"])
    assert len(stored) == ref["size"] > 4096
    assert hashlib.sha256(stored).hexdigest() == ref["sha256"]
    # An ELF core file: magic, then e_type ET_CORE (4) at offset 16, little-endian.
    assert stored[:4] == b"\x7fELF"
    assert int.from_bytes(stored[16:18], "little") == 4
    assert list((ssh_host.workdir / "dumps").iterdir()) == [], "the host keeps no copy"


async def test_process_dump_of_a_missing_process_fails_clearly(ssh_host: Any, vault: Vault) -> None:
    with _process("true") as proc:
        proc.wait(timeout=10)
    with pytest.raises(ActionError, match=f"no process {proc.pid}"):
        await _connector(ssh_host).run("get process dump", {"pid": proc.pid}, _ctx(vault))


def _reaches(source: str, address: str, port: int) -> bool:
    """Whether a TCP connection from ``source`` gets sshd's banner."""
    with socket.socket() as sock:
        sock.settimeout(1.5)
        sock.bind((source, 0))
        try:
            sock.connect((address, port))
            return sock.recv(64).startswith(b"SSH-")
        except OSError:
            return False


def _blocked_set(host: Any) -> list[Any]:
    listed = host.in_namespace("nft", "-j", "list", "set", "inet", "rampart", "blocked_v4")
    for entry in json.loads(listed.stdout)["nftables"]:
        if "set" in entry:
            return list(entry["set"].get("elem", []))
    return []


async def test_block_ip_adds_a_real_nftables_rule_and_unblock_removes_it(
    ssh_host: Any,
) -> None:
    host_rules_before = subprocess.run(
        ["nft", "list", "ruleset"], capture_output=True, text=True, check=True
    ).stdout
    spare, address, port = ssh_host.spare_address, ssh_host.address, ssh_host.port
    connector = _connector(ssh_host)
    assert _reaches(spare, address, port)

    blocked = await connector.run("block ip", {"ip": spare}, _ctx())
    assert blocked.model_dump()["changed"] is True
    assert spare in _blocked_set(ssh_host)
    table = ssh_host.in_namespace("nft", "list", "table", "inet", "rampart").stdout
    assert "ip saddr @blocked_v4 drop" in table
    assert not _reaches(spare, address, port), "traffic from the blocked address still flows"
    assert _reaches(ssh_host.management_address, address, port)
    repeat = await connector.run("block ip", {"ip": spare}, _ctx())
    assert repeat.model_dump()["changed"] is False
    assert _blocked_set(ssh_host).count(spare) == 1

    unblocked = await connector.run("unblock ip", {"ip": spare}, _ctx())
    assert unblocked.model_dump() | {"host": None} == {
        "host": None,
        "ip": spare,
        "blocked": False,
        "changed": True,
        "table": "inet rampart",
        "set": "blocked_v4",
        "covered_by": None,
    }
    assert spare not in _blocked_set(ssh_host)
    assert _reaches(spare, address, port)
    again = await connector.run("unblock ip", {"ip": spare}, _ctx())
    assert again.model_dump()["changed"] is False

    host_rules_after = subprocess.run(
        ["nft", "list", "ruleset"], capture_output=True, text=True, check=True
    ).stdout
    assert host_rules_after == host_rules_before, "the machine's own ruleset changed"


async def test_block_ip_refuses_to_cut_rampart_off(ssh_host: Any) -> None:
    network = ssh_host.management_address.rsplit(".", 1)[0] + ".0/24"
    with pytest.raises(ActionError, match="refusing to block"):
        await _connector(ssh_host).run("block ip", {"ip": network}, _ctx())
    assert _reaches(ssh_host.management_address, ssh_host.address, ssh_host.port)


async def test_no_secret_reaches_a_log_line(
    ssh_host: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    logging.getLogger("asyncssh").setLevel(logging.DEBUG)
    asyncssh.set_debug_level(2)
    try:
        connector = _connector(ssh_host)
        await connector.run("test connectivity", {}, _ctx())
        await connector.run("list processes", {"name": "sshd"}, _ctx())
        impostor = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode()
        with pytest.raises(ActionError):
            await _connector(ssh_host, host_key=impostor).run("test connectivity", {}, _ctx())
    finally:
        asyncssh.set_debug_level(1)
    text = "\n".join(r.getMessage() + repr(r.__dict__) for r in caplog.records)
    assert len(caplog.records) > 5, "asyncssh logged nothing: the check would prove nothing"
    key_body = "".join(ssh_host.client_key.strip().splitlines()[1:-1])
    assert key_body[:40] not in text
    assert key_body[-40:] not in text
    assert os.environ.get("RAMPART_MASTER_KEY", "\x00") not in text


async def test_run_script_pipes_the_script_to_the_shell_with_its_arguments(
    ssh_host: Any, tmp_path: Path
) -> None:
    mark = tmp_path / "ran"
    script = 'printf "%s|" "$@" > "$1"\necho out: $#\necho \'err line\' >&2\nexit 3\n'
    harness = ConnectorHarness(SshConnector, ssh_host.config())
    result = await harness.run("run script", script=script, args=[str(mark), "two words", "$HOME"])
    ran = result.model_dump()
    assert mark.read_text() == f"{mark}|two words|$HOME|", "arguments reach the script verbatim"
    assert ran["exit_status"] == 3
    assert ran["timed_out"] is False
    assert ran["stdout"] == {"text": "out: 3\n", "bytes": 7, "truncated": False}
    assert ran["stderr"]["text"] == "err line\n"
    assert "exit status 3" in harness.render("run script", result)


async def test_run_script_keeps_only_the_first_bytes_of_its_output(ssh_host: Any) -> None:
    connector = _connector(ssh_host, script_output_limit_bytes=1024)
    result = await connector.run(
        "run script", {"script": "head -c 300000 /dev/zero | tr '\\0' x; echo done >&2"}, _ctx()
    )
    ran = result.model_dump()
    assert ran["exit_status"] == 0
    assert ran["stdout"] == {"text": "x" * 1024, "bytes": 300000, "truncated": True}
    assert ran["stderr"] == {"text": "done\n", "bytes": 5, "truncated": False}


async def test_run_script_is_stopped_on_the_host_when_its_time_is_up(
    ssh_host: Any, tmp_path: Path
) -> None:
    pidfile = tmp_path / "pid"
    result = await _connector(ssh_host).run(
        "run script",
        {"script": f"echo $$ > {pidfile}; exec sleep 300", "timeout_seconds": 0.5},
        _ctx(),
    )
    ran = result.model_dump()
    assert ran["timed_out"] is True
    assert ran["exit_status"] == 124
    assert 0.5 <= ran["duration_s"] < 10
    assert _gone(int(pidfile.read_text()))


async def test_run_script_refuses_another_host(ssh_host: Any) -> None:
    with pytest.raises(ActionError, match="this asset is the host"):
        await _connector(ssh_host).run(
            "run script", {"script": "true", "host": "somewhere-else"}, _ctx()
        )


async def test_get_file_copies_the_file_into_the_vault(
    ssh_host: Any, vault: Vault, tmp_path: Path
) -> None:
    content = os.urandom(300_000)
    source = tmp_path / "evidence.bin"
    source.write_bytes(content)
    harness = ConnectorHarness(SshConnector, ssh_host.config(), vault=vault)
    result = await harness.run("get file", path=str(source), host=ssh_host.address)
    copy = result.model_dump()
    digest = hashlib.sha256(content).hexdigest()
    assert copy["sha256"] == copy["file"]["sha256"] == digest
    assert copy["size"] == len(content)
    assert copy["file"]["name"] == "evidence.bin"
    assert await vault.read_bytes(digest) == content
    assert digest in harness.render("get file", result)


async def test_get_file_refuses_a_file_larger_than_max_bytes(
    ssh_host: Any, vault: Vault, tmp_path: Path
) -> None:
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(5000))
    connector = _connector(ssh_host)
    with pytest.raises(ActionError, match="5000 bytes, more than max_bytes \\(4999\\)"):
        await connector.run("get file", {"path": str(source), "max_bytes": 4999}, _ctx(vault))
    with pytest.raises(ActionError, match="no such file"):
        await connector.run("get file", {"path": str(tmp_path / "nothing")}, _ctx(vault))
    with pytest.raises(ActionError, match="not a regular file"):
        await connector.run("get file", {"path": str(tmp_path)}, _ctx(vault))


@memory_only
async def test_playbook_runs_a_script_on_the_host_through_the_broker(
    ssh_host: Any, playbook_run: Any, tmp_path: Path
) -> None:
    mark = tmp_path / "from-playbook"
    run = await playbook_run(
        "ssh",
        ssh_host.config(),
        f"""
result = await ctx.act("run script", asset=ASSET, script='echo "$1" > {mark}; echo hi',
                       args=["acted"])
[outcome] = result.results
return {{"status": outcome.status, "data": outcome.data}}
""",
    )
    assert run["status"] == "completed", run
    assert mark.read_text() == "acted\n"
    [data] = run["result"]["data"]
    assert run["result"]["status"] == "success"
    assert data["exit_status"] == 0
    assert data["stdout"]["text"] == "hi\n"
