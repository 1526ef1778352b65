"""Schema version 2: run leases carry a fencing token (see rules/leases.py)."""

from __future__ import annotations

from airspace.state.sqlite.access import Db


def add_lease_tokens(db: Db) -> None:
    # Leases granted before keep working: their holders send no token yet (0 = any).
    # A database adopted without a version record may have the column already.
    columns = {row[1] for row in db.execute("PRAGMA table_info(leases)").fetchall()}
    if "token" not in columns:
        db.execute("ALTER TABLE leases ADD COLUMN token INTEGER NOT NULL DEFAULT 0")
