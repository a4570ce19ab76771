"""Running a script on the host and copying a file off it into the vault.

A script is piped to ``sh -s`` on the host's standard input (never put on a command line,
where ``ps`` would show it), with its arguments as positional parameters, under coreutils'
``timeout`` so it stops on the host too when its time is up. Only the first bytes of its
output are kept. A file is measured first and refused when larger than asked; the copy is
bounded again while it streams, in case the file grows meanwhile.
"""

from __future__ import annotations

import shlex
import time

from rampart.connectors.ssh.models import FileCopy, ScriptOutput, ScriptRun
from rampart.connectors.ssh.session import Captured, SshSession
from rampart.sdk.connector import ActionError, Vault

KILL_AFTER_S = 5
"""After the time limit the script gets SIGTERM, and SIGKILL this much later."""
_BACKSTOP_S = KILL_AFTER_S + 10
# timeout(1): 124 when the command timed out, 128 + 9 when it needed SIGKILL.
_TIMED_OUT = {124, 137}


def _output(captured: Captured) -> ScriptOutput:
    return ScriptOutput(
        text=captured.data.decode("utf-8", "replace"),
        bytes=captured.size,
        truncated=captured.truncated,
    )


async def run_script(
    session: SshSession, script: str, args: list[str], *, timeout_s: float, output_limit: int
) -> ScriptRun:
    """Run ``script`` with ``args`` in the host's POSIX shell, as root (or through sudo)."""
    command = f"exec timeout -k {KILL_AFTER_S} {timeout_s:g} sh -s --"
    if args:
        command += " " + " ".join(shlex.quote(a) for a in args)
    started = time.monotonic()
    done = await session.run_bounded(
        command,
        stdin=script,
        limit=output_limit,
        deadline_s=timeout_s + _BACKSTOP_S,
        privileged=True,
    )
    duration = time.monotonic() - started
    return ScriptRun(
        host=session.target,
        exit_status=done.exit_status,
        timed_out=done.exit_status in _TIMED_OUT and duration >= timeout_s,
        duration_s=round(duration, 3),
        stdout=_output(done.stdout),
        stderr=_output(done.stderr),
    )


async def get_file(session: SshSession, path: str, *, max_bytes: int, vault: Vault) -> FileCopy:
    """Copy a regular file of at most ``max_bytes`` into the vault."""
    if not path.startswith("/"):
        raise ActionError(f"{session.target}: path must be absolute, not {path!r}")
    quoted = shlex.quote(path)
    probe = await session.run(
        f"test -e {quoted} || {{ echo 'no such file' >&2; exit 4; }}; "
        f"test -f {quoted} || {{ echo 'not a regular file' >&2; exit 4; }}; "
        f"test -r {quoted} || {{ echo 'not readable' >&2; exit 4; }}; "
        f"stat -L -c %s -- {quoted}",
        privileged=True,
    )
    size_text = probe.stdout.strip()
    if probe.exit_status != 0 or not size_text.isdigit():
        raise ActionError(f"{session.target}: {path}: {probe.last_error_line()}")
    size = int(size_text)
    if size > max_bytes:
        raise ActionError(
            f"{session.target}: {path} is {size} bytes, more than max_bytes ({max_bytes})"
        )
    name = path.rstrip("/").rsplit("/", 1)[-1] or path
    async with vault.upload(name=name) as upload:

        async def bounded(chunk: bytes) -> None:
            if upload.size + len(chunk) > max_bytes:
                raise ActionError(
                    f"{session.target}: {path} grew past max_bytes ({max_bytes}) while copied"
                )
            await upload.write(chunk)

        # head stops reading one byte past the limit, so a growing file cannot stream forever.
        await session.copy_out(f"head -c {max_bytes + 1} -- {quoted}", bounded, privileged=True)
    assert upload.ref is not None
    return FileCopy(
        host=session.target,
        path=path,
        size=upload.ref.size,
        sha256=upload.ref.sha256,
        file=upload.ref,
    )
