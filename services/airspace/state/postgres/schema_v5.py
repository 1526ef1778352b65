"""Schema version 5: large payloads stored once per tenant by digest, apart from the
runs, events and journal rows that reference them (rules/payloads.py)."""

from __future__ import annotations

import psycopg

# The rows that may reference payloads; NULL: everything inline, as rows written before.
_REFERENCING = ("runs", "events", "journal")


def add_payloads(conn: psycopg.Connection) -> None:
    conn.execute(
        """CREATE TABLE IF NOT EXISTS payloads (
            tenant text COLLATE "C" NOT NULL,
            digest text COLLATE "C" NOT NULL,
            size integer NOT NULL,
            data bytea NOT NULL,
            PRIMARY KEY (tenant, digest)
        )"""
    )
    # Which runs use a payload: pruning a run deletes the payloads no other run uses.
    conn.execute(
        """CREATE TABLE IF NOT EXISTS payload_uses (
            tenant text COLLATE "C" NOT NULL,
            digest text COLLATE "C" NOT NULL,
            run_id text COLLATE "C" NOT NULL,
            PRIMARY KEY (tenant, digest, run_id)
        )"""
    )
    conn.execute("CREATE INDEX IF NOT EXISTS payload_uses_run ON payload_uses (run_id)")
    for table in _REFERENCING:
        conn.execute(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS payload_refs text")
