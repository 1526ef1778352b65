"""Schema version 5: large payloads stored once per tenant by digest, apart from the
runs, events and journal rows that reference them (rules/payloads.py)."""

from __future__ import annotations

from airspace.state.sqlite.access import Db

# The rows that may reference payloads; NULL: everything inline, as rows written before.
_REFERENCING = ("runs", "events", "journal")


def add_payloads(db: Db) -> None:
    db.execute(
        "CREATE TABLE IF NOT EXISTS payloads (tenant TEXT NOT NULL, digest TEXT NOT NULL,"
        " size INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (tenant, digest))"
    )
    # Which runs use a payload: pruning a run deletes the payloads no other run uses.
    db.execute(
        "CREATE TABLE IF NOT EXISTS payload_uses (tenant TEXT NOT NULL, digest TEXT NOT NULL,"
        " run_id TEXT NOT NULL, PRIMARY KEY (tenant, digest, run_id))"
    )
    db.execute("CREATE INDEX IF NOT EXISTS payload_uses_run ON payload_uses (run_id)")
    for table in _REFERENCING:
        columns = {row[1] for row in db.execute(f"PRAGMA table_info({table})").fetchall()}
        if "payload_refs" not in columns:
            db.execute(f"ALTER TABLE {table} ADD COLUMN payload_refs TEXT")
