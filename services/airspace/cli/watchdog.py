"""Keeps the children of `airspace up` running: one that exited is started again, and so is
an agent whose health check stops answering (its event loop stuck in a handler, say),
which is killed first — a stuck process may never act on SIGTERM.

Restarts in a row back off (1 s, 2 s, 4 s … up to 30 s), each printed with its reason and
counted on the process; a process that needs MAX_RESTARTS in a row without a calm minute
in between ends the supervisor instead."""

from __future__ import annotations

import time
from collections.abc import Iterable

from rich.console import Console

from airspace.cli.processes import ManagedProcess
from airspace.mesh import healthcheck

MAX_RESTARTS = 5
# A health check unanswered this long is a miss; this many misses in a row restart. Generous:
# a busy machine may answer slowly, and a restart fails the calls in flight.
PROBE_TIMEOUT_SECONDS = 5.0
MISSES_BEFORE_RESTART = 3
FIRST_BACKOFF_SECONDS, MAX_BACKOFF_SECONDS = 1.0, 30.0
# A process that ran this long since its last restart starts its backoff afresh.
CALM_SECONDS = 60.0


class Watchdog:
    def __init__(
        self,
        processes: Iterable[ManagedProcess],
        probed: Iterable[str],
        out: Console,
    ):
        self._processes = list(processes)
        self._out = out
        # Health checks missed in a row, per process whose health is checked.
        self._misses = {p.name: 0 for p in self._processes if p.name in probed}
        self._in_a_row = {p.name: 0 for p in self._processes}
        self._last_restart = {p.name: 0.0 for p in self._processes}

    def check(self) -> None:
        """One round: restarts each process that exited or stopped answering, once its
        backoff allows."""
        for process in self._processes:
            trouble = self._trouble(process)
            if trouble:
                self._restart(process, trouble)

    def _trouble(self, process: ManagedProcess) -> str:
        if not process.alive():
            return "exited"
        if process.name not in self._misses:
            return ""
        serving = (
            healthcheck.check(process.address, timeout=PROBE_TIMEOUT_SECONDS, env=process.env)
            == "SERVING"
        )
        self._misses[process.name] = 0 if serving else self._misses[process.name] + 1
        if self._misses[process.name] < MISSES_BEFORE_RESTART:
            return ""
        return f"its health check went unanswered {MISSES_BEFORE_RESTART} times in a row"

    def _restart(self, process: ManagedProcess, trouble: str) -> None:
        name, now = process.name, time.monotonic()
        if now - self._last_restart[name] > CALM_SECONDS:
            self._in_a_row[name] = 0
        in_a_row = self._in_a_row[name]
        backoff = min(FIRST_BACKOFF_SECONDS * 2 ** (in_a_row - 1), MAX_BACKOFF_SECONDS)
        if in_a_row and now - self._last_restart[name] < backoff:
            return  # backing off: the next round looks again
        if in_a_row >= MAX_RESTARTS:
            raise SystemExit(f"{name} keeps failing ({trouble}); see {process.log_path}")
        process.restarts += 1
        self._in_a_row[name] += 1
        self._out.print(
            f"[yellow]{name} {trouble}; restart {process.restarts} (see {process.log_path})[/]"
        )
        process.kill()
        process.start()
        if name in self._misses:
            self._misses[name] = 0
        self._last_restart[name] = time.monotonic()
