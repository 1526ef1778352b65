"""Schema version 7: the audit outbox (store/audit_outbox.py).

Audit records stored with the change they authorize, in its transaction, until the
router that wrote them (`router_id`) relayed them to the policy service's audit log.
"""

from __future__ import annotations

from airspace.state.sqlite.access import Db


def add_audit_outbox(db: Db) -> None:
    db.execute(
        "CREATE TABLE IF NOT EXISTS audit_outbox (record_id TEXT PRIMARY KEY,"
        " router_id TEXT NOT NULL, create_us INTEGER NOT NULL, record BLOB NOT NULL)"
    )
    # A router's claim reads its own entries, oldest first; a takeover moves a router's.
    db.execute(
        "CREATE INDEX IF NOT EXISTS audit_outbox_router ON audit_outbox (router_id, create_us)"
    )
