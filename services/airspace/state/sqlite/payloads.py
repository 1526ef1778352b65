"""The payloads table on SQLite (rules/payloads.py): written with the rows that
reference them, in the same transaction; the one writer serializes pruning with them."""

from __future__ import annotations

from collections.abc import Iterable

from airspace.state.rules.payloads import Stored, wanted
from airspace.state.sqlite.access import Db


def save(db: Db, tenant: str, run_id: str, stored: Iterable[Stored]) -> None:
    """Stores the payloads of a run's records (once: a digest stored already is
    skipped) and records that the run uses them."""
    payloads = {digest: data for record in stored for digest, data in record.payloads.items()}
    if not payloads:
        return
    db.conn.executemany(
        "INSERT OR IGNORE INTO payloads (tenant, digest, size, data) VALUES (?, ?, ?, ?)",
        [(tenant, digest, len(data), data) for digest, data in payloads.items()],
    )
    db.conn.executemany(
        "INSERT OR IGNORE INTO payload_uses (tenant, digest, run_id) VALUES (?, ?, ?)",
        [(tenant, digest, run_id) for digest in payloads],
    )


def load(db: Db, rows: Iterable[tuple[str, str | None]]) -> dict[str, bytes]:
    """The payloads that rows of (tenant, payload_refs) reference, by digest."""
    by_tenant: dict[str, list[str]] = {}
    for tenant, digest in wanted(rows):
        by_tenant.setdefault(tenant, []).append(digest)
    found: dict[str, bytes] = {}
    for tenant, digests in by_tenant.items():
        found.update(db.execute(select_sql(len(digests)), (tenant, *digests)))
    return found


def release(db: Db, tenant: str, run_id: str) -> None:
    """Forgets the run's uses and deletes the payloads no other run uses."""
    used = [
        digest
        for (digest,) in db.execute("SELECT digest FROM payload_uses WHERE run_id = ?", (run_id,))
    ]
    if used:
        db.execute("DELETE FROM payload_uses WHERE run_id = ?", (run_id,))
        db.execute(sweep_sql(len(used)), (tenant, *used))


# Searches of the primary keys, by a tenant's digests (bound after the tenant).
def select_sql(digests: int) -> str:
    return f"SELECT digest, data FROM payloads WHERE tenant = ? AND digest IN ({_marks(digests)})"


def sweep_sql(digests: int) -> str:
    return (
        f"DELETE FROM payloads WHERE tenant = ? AND digest IN ({_marks(digests)}) AND NOT EXISTS"
        " (SELECT 1 FROM payload_uses AS u WHERE u.tenant = payloads.tenant"
        " AND u.digest = payloads.digest)"
    )


def _marks(count: int) -> str:
    return ", ".join("?" * count)
