"""Schema version 3: leases per router (see rules/leases.py).

Run leases no longer expire on their own: they are live while the router lease of
their owner is. Leases written before name no registered router, so they are free
from here on and their runs are taken over (with a raised token) by the first router
that looks.
"""

from __future__ import annotations

from airspace.state.sqlite.access import Db


def add_router_leases(db: Db) -> None:
    db.execute(
        "CREATE TABLE IF NOT EXISTS router_leases (router_id TEXT PRIMARY KEY,"
        " epoch INTEGER NOT NULL, expire_us INTEGER NOT NULL)"
    )
    columns = {row[1] for row in db.execute("PRAGMA table_info(leases)").fetchall()}
    if "expire_us" in columns:
        db.execute("ALTER TABLE leases DROP COLUMN expire_us")
    # A registration frees, and a takeover finds, the run leases of one router.
    db.execute("CREATE INDEX IF NOT EXISTS leases_owner ON leases (owner)")
