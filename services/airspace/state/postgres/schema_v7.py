"""Schema version 7: the audit outbox (store/audit_outbox.py).

Audit records stored with the change they authorize, in its transaction, until the
router that wrote them (`router_id`) relayed them to the policy service's audit log.
"""

from __future__ import annotations

import psycopg


def add_audit_outbox(conn: psycopg.Connection) -> None:
    conn.execute(
        """CREATE TABLE audit_outbox (
            record_id text COLLATE "C" PRIMARY KEY,
            router_id text COLLATE "C" NOT NULL,
            create_us bigint NOT NULL,
            record bytea NOT NULL
        )"""
    )
    # A router's claim reads its own entries, oldest first; a takeover moves a router's.
    conn.execute("CREATE INDEX audit_outbox_router ON audit_outbox (router_id, create_us)")
