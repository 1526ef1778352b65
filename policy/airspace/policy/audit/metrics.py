"""The audit log's Prometheus metrics: group commits, each one fsync of the log."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

COMMITS = Counter(
    "airspace_audit_commits_total",
    "Transactions that made audit entries durable (one fsync each).",
)
COMMIT_BATCH_ENTRIES = Histogram(
    "airspace_audit_commit_batch_entries",
    "Audit entries committed together in one transaction (group commit).",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
)


def record_commit(entries: int) -> None:
    COMMITS.inc()
    COMMIT_BATCH_ENTRIES.observe(entries)
