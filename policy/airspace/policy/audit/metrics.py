"""The audit log's Prometheus metrics: group commits, each one fsync of the log, the
entries they made durable (their ratio is the batch size), and publications to the
witness (one fsync each)."""

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
PUBLICATIONS = Counter(
    "airspace_audit_witness_publications",
    "Signed heads published to the witness (one fsync each).",
)
PUBLICATION_FAILURES = Counter(
    "airspace_audit_witness_failures",
    "Signed heads the witness could not record; retried with the next head.",
)


def record_commit(entries: int) -> None:
    COMMITS.inc()
    ENTRIES.inc(entries)
