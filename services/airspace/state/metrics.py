"""The state service's Prometheus metrics: the write queue and group commits. Served by
the mesh's metrics endpoint (settings.metrics_port)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from airspace.mesh.metrics import LATENCY_BUCKETS

WRITE_QUEUE_DEPTH = Gauge(
    "airspace_state_write_queue_depth",
    "Write operations queued for the writer thread, not yet in a transaction.",
)
COMMIT_BATCH_OPERATIONS = Histogram(
    "airspace_state_commit_batch_operations",
    "Write operations committed together in one transaction (group commit).",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
)
COMMIT_DURATION = Histogram(
    "airspace_state_commit_duration_seconds",
    "Time to apply and commit one group of writes.",
    buckets=LATENCY_BUCKETS,
)
# synchronous=FULL: every commit is one fsync of the WAL, which is what a run's cost counts.
COMMITS = Counter(
    "airspace_state_commits_total",
    "Write transactions committed durably (one fsync each), however many writes they hold.",
)


def record_commit(operations: int, seconds: float) -> None:
    COMMIT_BATCH_OPERATIONS.observe(operations)
    COMMIT_DURATION.observe(seconds)
