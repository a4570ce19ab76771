"""Processes on a Linux host: list them, stop them with signal escalation, dump their core."""

from __future__ import annotations

import shlex

from rampart.connectors.ssh.models import ProcessDump, ProcessInfo, TerminatedProcess
from rampart.connectors.ssh.session import SshSession
from rampart.sdk.connector import ActionError, Vault

_SPLIT = "--rampart-args--"
# `comm` may hold spaces, so it comes last in the first listing; the full command line
# comes from a second listing joined on the pid.
LIST_SCRIPT = (
    "LC_ALL=C ps -eo pid=,ppid=,user:64=,stat=,comm= && "
    f"echo {_SPLIT} && LC_ALL=C ps -eo pid=,args= -ww"
)

# A zombie has exited: only its parent's wait() is missing, so it counts as gone.
_ALIVE = """alive() {
  s=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
  case "$s" in Z*|"") return 1;; esac
}"""
_TERMINATE = """
{alive}
pending=""
for p in {pids}; do
  if alive "$p"; then pending="$pending $p"; else echo "$p not-running"; fi
done
[ -n "$pending" ] && kill -TERM $pending 2>/dev/null
i=0
while [ "$i" -lt {ticks} ]; do
  left=""; for p in $pending; do alive "$p" && left="$left $p"; done
  [ -z "$left" ] && break
  sleep 0.1; i=$((i + 1))
done
killed=""
for p in $pending; do
  if alive "$p"; then kill -KILL "$p" 2>/dev/null; killed="$killed $p"
  else echo "$p terminated"; fi
done
i=0
while [ -n "$killed" ] && [ "$i" -lt 100 ]; do
  left=""; for p in $killed; do alive "$p" && left="$left $p"; done
  [ -z "$left" ] && break
  sleep 0.1; i=$((i + 1))
done
for p in $killed; do if alive "$p"; then echo "$p survived"; else echo "$p killed"; fi; done
"""


def parse_listing(text: str) -> list[ProcessInfo]:
    """Processes from the output of :data:`LIST_SCRIPT`."""
    head, _, tail = text.partition(_SPLIT)
    commands: dict[int, str] = {}
    for line in tail.splitlines():
        parts = line.strip().split(maxsplit=1)
        if parts and parts[0].isdigit():
            commands[int(parts[0])] = parts[1] if len(parts) > 1 else ""
    found: list[ProcessInfo] = []
    for line in head.splitlines():
        parts = line.strip().split(maxsplit=4)
        if len(parts) < 5 or not (parts[0].isdigit() and parts[1].isdigit()):
            continue
        pid = int(parts[0])
        found.append(
            ProcessInfo(
                pid=pid,
                ppid=int(parts[1]),
                user=parts[2],
                state=parts[3],
                name=parts[4],
                command=commands.get(pid, ""),
            )
        )
    return found


async def list_processes(session: SshSession) -> list[ProcessInfo]:
    """Every process on the host."""
    result = await session.run(LIST_SCRIPT)
    if result.exit_status != 0:
        raise ActionError(f"{session.target}: ps failed: {result.last_error_line()}")
    return parse_listing(result.stdout)


async def terminate(
    session: SshSession, pids: list[int], *, grace_seconds: float
) -> dict[int, str]:
    """SIGTERM the processes, SIGKILL those still alive after the grace period."""
    if 1 in pids:
        raise ActionError(f"{session.target}: refusing to signal PID 1")
    script = _TERMINATE.format(
        alive=_ALIVE,
        pids=" ".join(str(int(p)) for p in pids),
        ticks=max(1, round(grace_seconds * 10)),
    )
    result = await session.run(script, privileged=True)
    outcomes: dict[int, str] = {}
    for line in result.stdout.splitlines():
        pid, _, outcome = line.strip().partition(" ")
        if pid.isdigit():
            outcomes[int(pid)] = outcome.replace("not-running", "not running")
    missing = [p for p in pids if p not in outcomes]
    if missing:
        raise ActionError(f"{session.target}: no outcome for {missing}: {result.last_error_line()}")
    survivors = [p for p, outcome in outcomes.items() if outcome == "survived"]
    if survivors:
        raise ActionError(f"{session.target}: processes {survivors} survived SIGKILL")
    return outcomes


def outcomes_of(outcomes: dict[int, str], names: dict[int, str]) -> list[TerminatedProcess]:
    """The per-process result of a terminate request."""
    return [
        TerminatedProcess(pid=pid, name=names.get(pid), outcome=outcome)
        for pid, outcome in sorted(outcomes.items())
    ]


async def dump(session: SshSession, *, pid: int, dump_dir: str, vault: Vault) -> ProcessDump:
    """Write a core dump with gcore on the host, copy it into the vault, remove it there."""
    probe = await session.run(
        f"command -v gcore >/dev/null || {{ echo 'gcore is not installed (package gdb)' >&2; "
        f"exit 3; }}; cat /proc/{pid}/comm",
        privileged=True,
    )
    if probe.exit_status == 3:
        raise ActionError(f"{session.target}: {probe.last_error_line()}")
    if probe.exit_status != 0:
        raise ActionError(f"{session.target}: no process {pid}")
    name = probe.stdout.strip()
    made = await session.run(
        f"mktemp -d {shlex.quote(dump_dir.rstrip('/') or '/')}/rampart-dump.XXXXXXXX",
        privileged=True,
    )
    folder = made.stdout.strip()
    if made.exit_status != 0 or not folder.startswith("/"):
        raise ActionError(f"{session.target}: cannot create a folder in {dump_dir}")
    try:
        core = f"{folder}/core.{pid}"
        written = await session.run(
            f"gcore -o {shlex.quote(folder)}/core {pid} >/dev/null && test -s {shlex.quote(core)}",
            privileged=True,
        )
        if written.exit_status != 0:
            raise ActionError(f"{session.target}: gcore failed: {written.last_error_line()}")
        async with vault.upload(name=f"core.{pid}", content_type="application/x-coredump") as up:
            await session.copy_out(f"cat -- {shlex.quote(core)}", up.write, privileged=True)
    finally:
        await session.run(f"rm -rf -- {shlex.quote(folder)}", privileged=True)
    assert up.ref is not None
    return ProcessDump(host=session.target, pid=pid, name=name, file=up.ref)
