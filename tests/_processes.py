"""Start Rampart as a user would, as separate processes, and wait for it to answer."""

from __future__ import annotations

import asyncio
import os
import pty
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import httpx

RAMPART = str(Path(sys.executable).with_name("rampart"))


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RampartProcess:
    """One ``rampart`` process with its port and a file holding what it printed."""

    args: list[str]
    env: dict[str, str]
    log_path: Path
    port: int
    terminal: bool = False
    process: subprocess.Popen[bytes] | None = None
    _log: TextIO | None = None
    _copier: threading.Thread | None = None

    def start(self) -> None:
        """Start it with its output in the log file (through a pseudo-terminal if ``terminal``)."""
        if not self.terminal:
            self._log = self.log_path.open("a")
            self.process = subprocess.Popen(
                [RAMPART, *self.args], env=self.env, stdout=self._log, stderr=subprocess.STDOUT
            )
            return
        leader, follower = pty.openpty()
        self.process = subprocess.Popen(
            [RAMPART, *self.args],
            env=self.env,
            stdin=follower,
            stdout=follower,
            stderr=follower,
        )
        os.close(follower)
        self._copier = threading.Thread(target=self._copy, args=(leader,), daemon=True)
        self._copier.start()

    def _copy(self, leader: int) -> None:
        """Copy what the process writes to its terminal into the log file, until it exits."""
        log = self.log_path.open("ab", buffering=0)
        try:
            while True:
                try:
                    chunk = os.read(leader, 65536)
                except OSError:  # the process closed its terminal
                    break
                if not chunk:
                    break
                log.write(chunk.replace(b"\r\n", b"\n"))
        finally:
            log.close()
            os.close(leader)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log_path.read_text()

    def signal(self, sig: signal.Signals) -> int:
        assert self.process is not None
        self.process.send_signal(sig)
        code = self.process.wait(timeout=60)
        if self._copier is not None:
            self._copier.join(timeout=10)
        self._close_log()
        return code

    def stop(self) -> None:
        """Stop the process if it still runs (SIGKILL if SIGTERM has not ended it within a
        minute, so none outlives the test); either way, close its log."""
        if self.process is not None and self.process.poll() is None:
            try:
                self.signal(signal.SIGTERM)
            except subprocess.TimeoutExpired:
                self.signal(signal.SIGKILL)
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    async def wait_ready(self) -> None:
        """Wait until this process answers ``/readyz``."""
        await wait_ready(self.url, proc=self)


def cli_token(env: Mapping[str, str], *, role: str = "admin", name: str = "test") -> str:
    """A new API token made with ``rampart token create``, as an operator would."""
    return subprocess.run(
        [RAMPART, "token", "create", "--role", role, "--name", name],
        env=dict(env),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()


def process_env(extra: Mapping[str, str]) -> dict[str, str]:
    """The test's environment without Rampart settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAMPART_")}
    env.update(extra)
    return env


async def wait_ready(
    url: str, *, path: str = "/readyz", within: float = 90.0, proc: Any = None
) -> None:
    """Poll until ``url + path`` answers 200, or fail with what the process printed."""
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(timeout=2) as client:
        while time.monotonic() < deadline:
            if proc is not None and proc.process is not None and proc.process.poll() is not None:
                raise AssertionError(f"process exited early:\n{proc.output()[-3000:]}")
            try:
                if (await client.get(url + path)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.25)
    tail = proc.output()[-3000:] if proc is not None else ""
    raise AssertionError(f"{url}{path} not ready within {within}s\n{tail}")
