"""The audit log's Prometheus metrics: group commits, each one fsync of the log, and the
entries they made durable (their ratio is the batch size)."""

from __future__ import annotations

from prometheus_client import Counter

COMMITS = Counter(
    "airspace_audit_commits",
    "Transactions that made audit entries durable (one fsync each).",
)
ENTRIES = Counter(
    "airspace_audit_entries_committed",
    "Audit entries made durable; divided by the commits, the entries per group commit.",
)


def record_commit(entries: int) -> None:
    COMMITS.inc()
    ENTRIES.inc(entries)
