"""CPU time of this process, the local broker and the local database, to see who is busy.

Reads ``/proc``; on another OS or with remote servers those figures are simply absent. The
broker and the database are found by process name, so they include what other users of the
same servers make them do.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_GROUPS = {"beam.smp": "broker", "postgres": "database"}


def _snapshot(pids: dict[int, str]) -> dict[int, tuple[str, float]]:
    """``pid → (group, CPU seconds)`` of the broker, the database and the processes in ``pids``."""
    found: dict[int, tuple[str, float]] = {}
    proc = Path("/proc")
    if not proc.is_dir():
        return found
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ..." and comm may hold spaces, so split at the last ")"
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        group = pids.get(pid) or _GROUPS.get(comm)
        if group is None:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        found[pid] = (group, (int(fields[11]) + int(fields[12])) / _TICKS)  # utime + stime
    return found


def _run_queue_wait_s() -> float | None:
    """Seconds this process has spent runnable but waiting for a CPU, if the kernel says."""
    try:
        return int(Path("/proc/self/schedstat").read_text().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return None


@dataclass(slots=True)
class CpuShare:
    """Busy fraction of one core for each party over a measured interval."""

    wall_s: float
    bench: float
    # the fraction of the interval the bench wanted a CPU and did not get one
    starved: float | None
    # broker, database and other processes of the bench (a consumer process), by name
    others: dict[str, float]

    def describe(self) -> str:
        """E.g. ``bench 98% (starved 3%) · broker 61% · database 12%``."""
        bench = f"bench {self.bench:.0%}"
        if self.starved is not None:
            bench += f" (waited for a CPU {self.starved:.0%})"
        return " · ".join([bench, *(f"{k} {v:.0%}" for k, v in self.others.items())])


class CpuMeter:
    """``with CpuMeter() as m: ...`` then ``m.share``; ``pids`` names other processes to watch."""

    def __init__(self, pids: dict[int, str] | None = None) -> None:
        self.share: CpuShare | None = None
        self._pids = pids or {}
        self._wall = 0.0
        self._self = 0.0
        self._wait: float | None = None
        self._before: dict[int, tuple[str, float]] = {}

    def __enter__(self) -> CpuMeter:
        self._before = _snapshot(self._pids)
        self._wait = _run_queue_wait_s()
        self._self = time.process_time()
        self._wall = time.perf_counter()
        return self

    def __exit__(self, *_exc: object) -> None:
        wall = time.perf_counter() - self._wall
        own = time.process_time() - self._self
        wait = _run_queue_wait_s()
        after = _snapshot(self._pids)
        # only processes alive at both ends: one that exited or started between would skew it
        groups: dict[str, float] = {}
        for pid, (group, seconds) in after.items():
            if pid in self._before:
                groups[group] = groups.get(group, 0.0) + seconds - self._before[pid][1]
        order = [*self._pids.values(), "broker", "database"]
        starved = None if wait is None or self._wait is None else (wait - self._wait) / wall
        self.share = CpuShare(
            wall,
            own / wall,
            starved,
            {name: groups[name] / wall for name in order if name in groups},
        )
