"""``python -m bench.all``: every benchmark in turn, then all their TARGET lines together.

Each bench module runs as a child process with this interpreter; its output streams through
as it comes, and every line starting with ``TARGET `` is kept and printed again at the end,
one per target, in the order the benches ran. The passes per bench come from
``RAMPART_BENCH_REPEAT`` (default 5), which every bench reads.

The exit code is 0 when every bench ran to its end, whether or not its targets are met, and
1 when one failed (the others still run).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Sequence

BENCHES = [
    "bench",
    "bench.ingest",
    "bench.assets",
    "bench.engine",
    "bench.broker",
    "bench.approvals",
]
PREFIX = "TARGET "


def run_one(module: str, env: dict[str, str]) -> tuple[int, list[str]]:
    """Run ``python -m module``, stream its output, return its exit code and TARGET lines."""
    targets: list[str] = []
    with subprocess.Popen(
        [sys.executable, "-m", module],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    ) as child:
        assert child.stdout is not None
        for line in child.stdout:
            sys.stdout.write(line)
            sys.stdout.flush()
            if line.startswith(PREFIX):
                targets.append(line.rstrip("\n"))
    return child.returncode, targets


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benches named (default all) and end with the summary."""
    parser = argparse.ArgumentParser(prog="python -m bench.all", description=__doc__)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("modules", nargs="*", default=BENCHES, help="bench modules to run")
    args = parser.parse_args(argv)
    env = {**os.environ, "RAMPART_BENCH_REPEAT": os.environ.get("RAMPART_BENCH_REPEAT", "5")}
    env["PYTHONUNBUFFERED"] = "1"
    targets: list[str] = []
    failed: list[str] = []
    began = time.perf_counter()
    for module in args.modules:
        print(f"\n=== python -m {module}", flush=True)
        code, found = run_one(module, env)
        targets += found
        if code != 0:
            failed.append(f"{module} (exit {code})")
    print(f"\n=== summary: {len(targets)} targets, {time.perf_counter() - began:.0f}s in all")
    for line in targets:
        print(line)
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
