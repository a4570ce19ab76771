"""A RabbitMQ node of a test's own, to stop and start without touching the machine's broker.

```python
with RabbitNode.started(tmp_path) as node:     # its own name, ports, data and logs
    bus = RabbitBus(node.url, ...)
    node.stop_app()                              # the broker goes away, the node stays up
    node.start_app()                             # and comes back with its durable queues
```

The node runs ``rabbitmq-server`` from the installed package (Debian's ``rabbitmq-server``)
as the current user, with ``RABBITMQ_NODENAME``, the AMQP and distribution ports, the
``RABBITMQ_MNESIA_BASE``/``LOG_BASE`` folders, a config file and an Erlang cookie
(``HOME``) all in the test's temporary folder, so it shares nothing with another node. The
node is driven with ``rabbitmqctl -n <node>``; ``await_startup`` says when it is ready.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests._processes import free_port

_PACKAGE_BIN = Path("/usr/lib/rabbitmq/bin")


def _tool(name: str) -> str:
    """The package's own script: the ``/usr/sbin`` wrappers switch to the ``rabbitmq`` user,
    whose home (and Erlang cookie) is the machine's node's."""
    own = _PACKAGE_BIN / name
    if own.exists():
        return str(own)
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} is not installed (Debian package rabbitmq-server)")
    return found


@dataclass
class RabbitNode:
    """One private RabbitMQ node: ``url`` to connect, ``stop_app``/``start_app`` to bounce it."""

    base: Path
    name: str = field(default_factory=lambda: f"rampart-test-{uuid.uuid4().hex[:8]}@localhost")
    port: int = field(default_factory=free_port)
    dist_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The AMQP URL of the node (the default ``guest`` user, from localhost)."""
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    @property
    def log_path(self) -> Path:
        """What ``rabbitmq-server`` printed."""
        return self.base / "server.out"

    def env(self) -> dict[str, str]:
        """The environment of the node and of the tools that drive it."""
        return {
            **os.environ,
            "HOME": str(self.base),  # the Erlang cookie of this node and its tools
            "RABBITMQ_NODENAME": self.name,
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(self.base / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.base / "log"),
            "RABBITMQ_PID_FILE": str(self.base / "node.pid"),
            "RABBITMQ_CONFIG_FILE": str(self.base / "rabbitmq.conf"),
            "RABBITMQ_CONF_ENV_FILE": str(self.base / "rabbitmq-env.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.base / "enabled_plugins"),
        }

    def ctl(self, *args: str, timeout: float = 60) -> str:
        """``rabbitmqctl -n <node> args``; raises with its output if it fails."""
        done = subprocess.run(
            [_tool("rabbitmqctl"), "-n", self.name, *args],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"rabbitmqctl {' '.join(args)} failed ({done.returncode}): "
                f"{done.stdout[-2000:]}{done.stderr[-2000:]}"
            )
        return done.stdout

    def start(self, timeout: float = 60) -> None:
        """Start the node and return once it accepts connections."""
        self.base.mkdir(parents=True, exist_ok=True)
        # the listener in the config, not RABBITMQ_NODE_PORT: the machine's rabbitmq-env.conf
        # and the defaults would add a second listener on the same port
        (self.base / "rabbitmq.conf").write_text(f"listeners.tcp.1 = 127.0.0.1:{self.port}\n")
        (self.base / "rabbitmq-env.conf").write_text("")
        (self.base / "enabled_plugins").write_text("[].\n")
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [_tool("rabbitmq-server")],
                env=self.env(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.await_startup(timeout)

    def await_startup(self, timeout: float = 60) -> None:
        """Wait until the node runs the broker (``rabbitmqctl await_startup``)."""
        deadline = time.monotonic() + timeout
        while True:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(
                    f"rabbitmq-server exited with {self.process.returncode}: "
                    f"{self.log_path.read_text(errors='replace')[-3000:]}"
                )
            try:
                self.ctl("await_startup", "--timeout", "10", timeout=60)
                return
            except (RuntimeError, subprocess.TimeoutExpired):
                # the node is not registered with epmd yet, or still booting
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def stop_app(self) -> None:
        """Stop the broker inside the node: every connection drops, durable data stays."""
        self.ctl("stop_app")

    def start_app(self) -> None:
        """Start the broker again; returns once it accepts connections."""
        self.ctl("start_app", timeout=120)

    def close_connections(self, reason: str = "test: connections closed") -> None:
        """Close every client connection of the node, the node staying up."""
        self.ctl("close_all_connections", reason)

    def stop(self) -> None:
        """Stop the node and its process."""
        if self.process is None:
            return
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            self.ctl("stop", timeout=30)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None

    @classmethod
    @contextlib.contextmanager
    def started(cls, base: Path) -> Iterator[RabbitNode]:
        """A node started in ``base``, stopped at the end."""
        node = cls(base)
        try:
            node.start()
            yield node
        finally:
            node.stop()
