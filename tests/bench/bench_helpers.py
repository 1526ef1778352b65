"""Builders shared by the benchmark's tests: load results and measurements of known shape."""

from __future__ import annotations

import collections

from bench import report
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
