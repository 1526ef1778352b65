"""Schema version 2: run leases carry a fencing token (see rules/leases.py)."""

from __future__ import annotations

import psycopg


def add_lease_tokens(conn: psycopg.Connection) -> None:
    # Leases granted before keep working: their holders send no token yet (0 = any).
    conn.execute("ALTER TABLE leases ADD COLUMN IF NOT EXISTS token bigint NOT NULL DEFAULT 0")
