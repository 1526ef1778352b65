"""Schema version 6: ListRuns filtered by state finds its page by index.

runs_listing orders a tenant's runs but holds no state, so a listing of a state no
recent run is in (the runs waiting for approval, say) read the tenant's whole history:
a sequential scan of runs at a million. Built in the migration's transaction, so writes
to runs wait for it (seconds per million runs).
"""

from __future__ import annotations

import psycopg


def add_state_listing(conn: psycopg.Connection) -> None:
    conn.execute(
        "CREATE INDEX IF NOT EXISTS runs_state_listing ON runs (tenant, state, create_us, run_id)"
    )
