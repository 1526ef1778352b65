"""Schema version 3: leases per router (see rules/leases.py).

Run leases no longer expire on their own: they are live while the router lease of
their owner is. Leases written before name no registered router, so they are free
from here on and their runs are taken over (with a raised token) by the first router
that looks.
"""

from __future__ import annotations

import psycopg


def add_router_leases(conn: psycopg.Connection) -> None:
    conn.execute(
        """CREATE TABLE router_leases (
            router_id text COLLATE "C" PRIMARY KEY,
            epoch bigint NOT NULL,
            expire_us bigint NOT NULL
        )"""
    )
    conn.execute("ALTER TABLE leases DROP COLUMN expire_us")
    # A registration frees, and a takeover finds, the run leases of one router.
    conn.execute("CREATE INDEX leases_owner ON leases (owner)")
