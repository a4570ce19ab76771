"""The process that forks playbook processes: it imports the SDK once, then forks on request.

Importing the authors' SDK takes a second or more; forking a process that already has it
takes milliseconds, so a killed playbook process is replaced at once. The engine sends a
socket (SCM_RIGHTS) on the control channel for each fork; the child serves the engine on it.
"""

from __future__ import annotations

import os
import signal
import socket
import struct
import sys

from rampart.engine.sandbox import _worker

_PID = struct.Struct(">i")


def serve(control: socket.socket) -> None:
    """Fork a playbook process for each socket received, until the engine closes the channel."""
    # children are reaped by the kernel: nobody waits for them here
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    while True:
        try:
            _, fds, _, _ = socket.recv_fds(control, 16, 1)
        except OSError:
            return
        if not fds:
            return
        pid = os.fork()
        if pid == 0:
            try:
                control.close()
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                _worker.serve_socket(socket.socket(fileno=fds[0]))
            finally:
                os._exit(0)
        os.close(fds[0])
        control.sendall(_PID.pack(pid))


def main() -> None:
    """Serve the control socket passed as file descriptor ``argv[1]``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _worker.die_with_parent(watch=False)
    serve(socket.socket(fileno=int(sys.argv[1])))


if __name__ == "__main__":
    main()
