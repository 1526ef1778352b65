"""Schema version 6: ListRuns filtered by state finds its page by index.

The (tenant, create_us, run_id) index orders a tenant's runs but holds no state, so a
listing of a state no recent run is in (the runs waiting for approval, say) read the
tenant's whole history.
"""

from __future__ import annotations

from airspace.state.sqlite.access import Db


def add_state_listing(db: Db) -> None:
    db.execute(
        "CREATE INDEX IF NOT EXISTS runs_state_listing ON runs (tenant, state, create_us, run_id)"
    )
