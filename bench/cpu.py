"""CPU time and resident memory of processes, read from /proc: what a load costs wherever
its work runs."""

from __future__ import annotations

import os
import pathlib
from collections.abc import Callable, Mapping, Sequence

from bench.meters import Readings

TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")
# The benchmark's own process, which drives every load: the client side of the first hop.
CLIENT = "client"


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds a process (all its threads) has used so far."""
    return stat_cpu_seconds(pathlib.Path(f"/proc/{pid}/stat").read_text())


def stat_cpu_seconds(stat: str) -> float:
    """utime + stime of a /proc/<pid>/stat line (proc(5): fields 14 and 15), in seconds."""
    # The command name (field 2) may hold spaces and parentheses: count from its end.
    fields = stat.rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_SECOND


def resident_kb(pid: int) -> int:
    """The process's resident memory (VmRSS), in KiB."""
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def reader(groups: Mapping[str, Sequence[int]]) -> Callable[[], Readings]:
    """Reads the CPU seconds of each named group of processes, summed over the group, and
    of this process as CLIENT."""
    groups = {**groups, CLIENT: [os.getpid()]}

    def read() -> Readings:
        return {name: sum(cpu_seconds(pid) for pid in pids) for name, pids in groups.items()}

    return read
