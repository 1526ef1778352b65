"""Builders shared by the benchmark's tests: load results, measurements and parked-run
figures of known shape."""

from __future__ import annotations

import collections

from bench import parked_runs, report
from bench.loadgen import LoadResult


def result(latencies_ms: list[float], elapsed: float, failed: int = 0) -> LoadResult:
    statuses = collections.Counter({"OK": len(latencies_ms) - failed})
    if failed:
        statuses["RUN_FAILED"] = failed
    latencies = [ms / 1000 for ms in latencies_ms]
    counted = len(latencies)
    return LoadResult(latencies, statuses, collections.Counter(), elapsed, elapsed, counted)


def measured(name: str, per_second: float, p50_ms: float = 10.0) -> report.Measured:
    """One second of `per_second` calls, each taking `p50_ms`."""
    return report.Measured(name, "runs", 4, result([p50_ms] * int(per_second), 1.0))


def reading(router: float, state: float, commits: float, rss_kb: int) -> dict:
    """One window's readings, as parked_runs.window takes them."""
    return {
        "cpu_percent_by_process": {"router": router, "state": state},
        "state_commits_per_s": commits,
        "router_rss_kb": rss_kb,
    }


def parked(*, completed: int = 10_000, grown_kb: int = 60_000, router_cpu: float = 2.5) -> dict:
    """The figures of 10,000 runs parked: the router grew by `grown_kb`, its CPU while they
    waited was `router_cpu` (% of a core) and the state's 1.0."""
    return parked_runs.figures(
        10_000,
        reading(0.5, 0.75, 2.0, 100_000),
        reading(router_cpu, 1.0, 2.5, 100_000 + grown_kb),
        completed=completed,
        start_failures=0,
        park_seconds=120.0,
        complete_seconds=90.0,
    )
