"""Schema version 1: the tables and indexes of the SQLite state store.

Records are stored as serialized protobuf bytes (`data`) next to the columns that
queries filter or sort on; times in those columns are microseconds since the epoch.
"""

from __future__ import annotations

import sqlite_utils

from airspace.state import records
from airspace.v1 import run_pb2

# Inlined in SQL (not bound) so the partial index below can serve the query.
ACTIVE_STATES_SQL = ", ".join(str(state) for state in records.CLAIMABLE_RUN_STATES)


def create_tables(db: sqlite_utils.Database) -> None:
    """Creates what is missing, so it also brings a database made before schema
    versions were recorded up to version 1."""
    text, integer, blob = str, int, bytes
    db.table("runs").create(
        {
            "run_id": text,
            "tenant": text,
            "request_id": text,
            "workflow": text,
            "state": integer,
            "create_us": integer,
            "last_sequence": integer,
            # When the run ended, and when its payloads were pruned (NULL: not yet).
            "end_us": integer,
            "prune_us": integer,
            "data": blob,
        },
        pk="run_id",
        not_null=["tenant", "request_id", "state", "create_us", "last_sequence", "data"],
        if_not_exists=True,
    )
    _add_missing_columns(db, "runs", {"end_us": integer, "prune_us": integer})
    # ListRuns (newest first, keyset paging) and CreateRun idempotency.
    db.table("runs").create_index(["tenant", "create_us", "run_id"], if_not_exists=True)
    db.table("runs").create_index(["tenant", "request_id"], unique=True, if_not_exists=True)
    # ListClaimableRuns walks unfinished runs oldest first; the index holds only those,
    # so its cost follows the number of active runs, not the history.
    db.execute("DROP INDEX IF EXISTS idx_runs_state_create_us")
    db.execute(
        "CREATE INDEX IF NOT EXISTS runs_active ON runs (create_us, run_id)"
        f" WHERE state IN ({ACTIVE_STATES_SQL})"
    )
    # PruneRuns finds ended, unpruned runs of a tenant by end time.
    db.execute(
        "CREATE INDEX IF NOT EXISTS runs_prunable ON runs (tenant, end_us)"
        " WHERE end_us IS NOT NULL AND prune_us IS NULL"
    )

    db.table("events").create(
        {"run_id": text, "sequence": integer, "data": blob},
        pk=("run_id", "sequence"),
        not_null=["data"],
        if_not_exists=True,
    )
    # Rowid order is completion order.
    db.table("journal").create(
        {"id": integer, "run_id": text, "step_key": text, "data": blob},
        pk="id",
        not_null=["run_id", "step_key", "data"],
        if_not_exists=True,
    )
    db.table("journal").create_index(["run_id", "step_key"], unique=True, if_not_exists=True)

    db.table("workflows").create(
        {
            "tenant": text,
            "workflow": text,
            "version": integer,
            "etag": text,
            "deleted": integer,
            "data": blob,
        },
        pk=("tenant", "workflow", "version"),
        not_null=["etag", "deleted", "data"],
        if_not_exists=True,
    )
    db.table("agents").create(
        {"tenant": text, "agent": text, "data": blob},
        pk=("tenant", "agent"),
        not_null=["data"],
        if_not_exists=True,
    )
    db.table("approvals").create(
        {
            "tenant": text,
            "approval_id": text,
            "run_id": text,
            "state": integer,
            "required_role": text,
            "create_us": integer,
            "data": blob,
        },
        pk=("tenant", "approval_id"),
        not_null=["run_id", "state", "required_role", "create_us", "data"],
        if_not_exists=True,
    )
    # ListApprovals, oldest first.
    db.table("approvals").create_index(["tenant", "create_us", "approval_id"], if_not_exists=True)
    # The router's sweep for approvals past their deadline reads the pending ones.
    db.table("approvals").create_index(["state"], if_not_exists=True)

    db.table("memory").create(
        {
            "tenant": text,
            "namespace": text,
            "key": text,
            "version": integer,
            "expire_us": integer,
            # request_id of the last write, so its retry is recognized.
            "request_id": text,
            "data": blob,
        },
        pk=("tenant", "namespace", "key"),
        not_null=["version", "data"],
        if_not_exists=True,
    )
    _add_missing_columns(db, "memory", {"request_id": text})
    db.table("leases").create(
        {"run_id": text, "owner": text, "expire_us": integer},
        pk="run_id",
        not_null=["owner", "expire_us"],
        if_not_exists=True,
    )


def _add_missing_columns(db: sqlite_utils.Database, table: str, columns: dict[str, type]) -> None:
    """Brings a database made by an earlier version up to date."""
    existing = db.table(table).columns_dict
    for name, kind in columns.items():
        if name not in existing:
            db.table(table).add_column(name, kind)
            if (table, name) == ("runs", "end_us"):
                _backfill_end_times(db)


def _backfill_end_times(db: sqlite_utils.Database) -> None:
    terminal = ", ".join(str(state) for state in records.TERMINAL_RUN_STATES)
    rows = db.execute(f"SELECT run_id, data FROM runs WHERE state IN ({terminal})").fetchall()
    for run_id, data in rows:
        run = run_pb2.Run.FromString(data)
        end = run.end_time if run.HasField("end_time") else run.update_time
        db.execute("UPDATE runs SET end_us = ? WHERE run_id = ?", (end.ToMicroseconds(), run_id))
