"""A real Linux host for tests: sshd in a network namespace of its own, torn down after."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from rampart.cli._namespace_host import (
    NamespaceHost,
    NamespacesRefused,
    missing_packages,
    start_host,
    stop_host,
)

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def unavailable(reason: str, *, needed_by: str) -> None:
    """Skip, or fail under ``CI=true``, where CI must run what needs the host."""
    if IN_CI:
        pytest.fail(f"CI=true and {reason}: CI must run {needed_by}", pytrace=False)
    pytest.skip(reason)


@contextlib.contextmanager
def namespace_host(workdir: Path, *, label: str, needed_by: str) -> Iterator[NamespaceHost]:
    """sshd on a free port in a fresh namespace, as root, with throwaway keys and a dump folder.

    ``label`` (one letter) keeps the namespace and interface names of two suites apart.
    """
    missing = missing_packages()
    if missing:
        unavailable(f"missing system packages: {', '.join(missing)}", needed_by=needed_by)
    if os.geteuid() != 0:
        unavailable(f"{needed_by} need root (sshd, ip netns, nftables)", needed_by=needed_by)
    tag = uuid.uuid4().hex[:6]
    namespace, outer, inner = f"rmp{label}-{tag}", f"rm{label}a{tag}", f"rm{label}b{tag}"
    (workdir / "dumps").mkdir()
    try:
        host = start_host(
            namespace=namespace,
            outer=outer,
            inner=inner,
            workdir=workdir,
            port=20000 + int(tag, 16) % 20000,
            dump_dir=workdir / "dumps",
        )
    except NamespacesRefused as exc:
        unavailable(str(exc), needed_by=needed_by)
    try:
        yield host
    finally:
        stop_host(namespace=namespace, outer=outer)
