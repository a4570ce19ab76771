"""One SSH connection to an asset, with pinned host keys and errors mapped to the SDK's."""

from __future__ import annotations

import asyncio
import contextlib
import shlex
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import asyncssh

from rampart.connectors.ssh.config import SshConfig
from rampart.sdk.connector import ActionError, SshConnect, TargetUnavailable


@dataclass(frozen=True, slots=True)
class CommandResult:
    """What a remote command printed and how it exited."""

    stdout: str
    stderr: str
    exit_status: int

    def last_error_line(self) -> str:
        """The last line of stderr, for an error message."""
        lines = [line for line in self.stderr.strip().splitlines() if line.strip()]
        return lines[-1] if lines else f"exit status {self.exit_status}"


@dataclass(frozen=True, slots=True)
class Captured:
    """The first bytes of one output stream, its full length, and whether it was cut."""

    data: bytes
    size: int

    @property
    def truncated(self) -> bool:
        """Whether the stream was longer than what was kept."""
        return self.size > len(self.data)


@dataclass(frozen=True, slots=True)
class BoundedResult:
    """How a command exited and the bounded captures of its output."""

    stdout: Captured
    stderr: Captured
    exit_status: int


async def _read_bounded(stream: asyncssh.SSHReader[bytes], limit: int) -> Captured:
    kept = bytearray()
    size = 0
    while chunk := await stream.read(64 * 1024):
        size += len(chunk)
        if len(kept) < limit:
            kept.extend(chunk[: limit - len(kept)])
    return Captured(bytes(kept), size)


class SshSession:
    """Runs POSIX shell scripts on the asset, as root or through ``sudo -n`` when configured."""

    def __init__(self, conn: asyncssh.SSHClientConnection, config: SshConfig) -> None:
        self._conn = conn
        self._config = config

    @property
    def target(self) -> str:
        """``host:port``, for messages."""
        return f"{self._config.host}:{self._config.port}"

    def _command(self, script: str, *, privileged: bool) -> str:
        # Always `sh -c`, so the scripts do not depend on the account's login shell.
        command = f"sh -c {shlex.quote(script)}"
        if privileged and self._config.use_sudo and self._config.username != "root":
            return f"sudo -n -- {command}"
        return command

    async def run(self, script: str, *, privileged: bool = False) -> CommandResult:
        """Run a script and collect its output as text."""
        try:
            done = await self._conn.run(
                self._command(script, privileged=privileged),
                check=False,
                timeout=self._config.command_timeout_s,
            )
        except asyncssh.TimeoutError:
            raise TargetUnavailable(f"{self.target}: a command timed out") from None
        except (asyncssh.Error, OSError) as exc:
            raise TargetUnavailable(f"{self.target}: connection lost: {exc}") from None
        return CommandResult(
            stdout=str(done.stdout or ""),
            stderr=str(done.stderr or ""),
            exit_status=done.exit_status if done.exit_status is not None else -1,
        )

    async def run_bounded(
        self, command: str, *, stdin: str, limit: int, deadline_s: float, privileged: bool = False
    ) -> BoundedResult:
        """Run ``command`` (a shell command line) with ``stdin`` piped to it; keep at most
        ``limit`` bytes of each output stream and drain the rest, so a chatty script cannot
        fill Rampart's memory. ``deadline_s`` bounds the whole exchange."""
        line = self._command(command, privileged=privileged)
        try:
            async with asyncio.timeout(deadline_s):
                async with self._conn.create_process(line, encoding=None) as process:
                    process.stdin.write(stdin.encode())
                    process.stdin.write_eof()
                    out, err = await asyncio.gather(
                        _read_bounded(process.stdout, limit), _read_bounded(process.stderr, limit)
                    )
                    finished = await process.wait(check=False)
        except TimeoutError:
            raise TargetUnavailable(f"{self.target}: no answer within {deadline_s:g} s") from None
        except (asyncssh.Error, OSError) as exc:
            raise TargetUnavailable(f"{self.target}: connection lost: {exc}") from None
        return BoundedResult(
            stdout=out,
            stderr=err,
            exit_status=finished.exit_status if finished.exit_status is not None else -1,
        )

    async def copy_out(
        self, script: str, sink: Callable[[bytes], Awaitable[None]], *, privileged: bool = False
    ) -> None:
        """Stream a script's binary standard output into ``sink``; fails if the script fails."""
        command = self._command(script, privileged=privileged)
        try:
            async with asyncio.timeout(self._config.command_timeout_s):
                async with self._conn.create_process(command, encoding=None) as process:
                    while chunk := await process.stdout.read(256 * 1024):
                        await sink(chunk)
                    finished = await process.wait(check=False)
                    stderr = await process.stderr.read()
        except TimeoutError:
            raise TargetUnavailable(f"{self.target}: copying a file timed out") from None
        except (asyncssh.Error, OSError) as exc:
            raise TargetUnavailable(f"{self.target}: connection lost: {exc}") from None
        if finished.exit_status != 0:
            text = bytes(stderr).decode("utf-8", "replace").strip()
            raise ActionError(f"{self.target}: {text or 'copy failed'}")


@contextlib.asynccontextmanager
async def open_session(config: SshConfig, connect: SshConnect) -> AsyncIterator[SshSession]:
    """Connect through ``connect`` (the action context's SSH transport), verifying the host
    key against the configured one; close on exit."""
    passphrase = config.private_key_passphrase
    keys = (
        [
            asyncssh.import_private_key(
                config.private_key.get_secret_value(),
                passphrase.get_secret_value() if passphrase else None,
            )
        ]
        if config.private_key is not None
        else None
    )
    try:
        conn: asyncssh.SSHClientConnection = await connect(
            config.host,
            config.port,
            username=config.username,
            known_hosts=(config.host_keys(), [], []),
            client_keys=keys,
            password=config.password.get_secret_value() if config.password else None,
            # Nothing from the process's own ~/.ssh (config, agent, keys) may take part.
            config=[],
            agent_path=None,
            x509_trusted_certs=None,
            connect_timeout=config.connect_timeout_s,
            login_timeout=config.connect_timeout_s,
        )
    except asyncssh.HostKeyNotVerifiable:
        raise ActionError(
            f"{config.host}:{config.port} presented a host key that does not match the "
            "asset's configured host_key; refusing to connect"
        ) from None
    except asyncssh.PermissionDenied:
        raise ActionError(
            f"{config.host}:{config.port}: authentication as {config.username!r} failed"
        ) from None
    except (TimeoutError, OSError, asyncssh.Error) as exc:
        raise TargetUnavailable(f"{config.host}:{config.port} is unreachable: {exc}") from None
    try:
        yield SshSession(conn, config)
    finally:
        conn.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(conn.wait_closed(), 5)
