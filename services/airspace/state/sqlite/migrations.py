"""Versioned schema migrations of the SQLite state database.

The schema_migrations table records every version applied. Opening a database applies
the pending migrations in order, all in one transaction, so a failure leaves the
database as it was. A database without the table (new, or made before versions were
recorded) is at version 0; migration 1 creates only what is missing, so it adopts an
older database in place. A database at a version newer than this code knows is
refused (airspace.state.migrations holds the runner the stores share).
"""

from __future__ import annotations

import pathlib
import time
from collections.abc import Sequence

from airspace.state import records
from airspace.state.migrations import Migration, MigrationResult, SchemaTooNewError, apply_pending
from airspace.state.sqlite import (
    schema_v1,
    schema_v2,
    schema_v3,
    schema_v4,
    schema_v5,
    schema_v6,
    schema_v7,
)
from airspace.state.sqlite.access import Db
from airspace.state.sqlite.connection import connect

__all__ = ["MIGRATIONS", "Migration", "MigrationResult", "SchemaTooNewError", "apply_migrations"]

MIGRATIONS: tuple[Migration[Db], ...] = (
    Migration(
        1,
        "runs with their events and journal, workflows, agents, approvals, memory, leases",
        schema_v1.create_tables,
    ),
    Migration(2, "fencing tokens on run leases", schema_v2.add_lease_tokens),
    Migration(3, "leases per router", schema_v3.add_router_leases),
    Migration(4, "request digests on runs", schema_v4.add_request_digests),
    Migration(5, "large payloads stored once, apart from their rows", schema_v5.add_payloads),
    Migration(6, "runs listed by state through an index", schema_v6.add_state_listing),
    Migration(7, "the audit outbox", schema_v7.add_audit_outbox),
)


def apply_migrations(
    path: str | pathlib.Path, migrations: Sequence[Migration] = MIGRATIONS
) -> MigrationResult:
    """Creates the database file when missing and applies its pending migrations."""
    pathlib.Path(path).parent.mkdir(parents=True, exist_ok=True)
    db = connect(path)
    try:
        # Readers never block the writer, nor the writer readers; persistent in the
        # file, and settable only outside a transaction.
        db.conn.execute("PRAGMA journal_mode=WAL")
        # IMMEDIATE: a second process starting at the same time waits, then finds
        # the migrations applied.
        db.conn.execute("BEGIN IMMEDIATE")
        try:
            result = _apply_pending(db, path, migrations)
        except BaseException:
            db.conn.execute("ROLLBACK")
            raise
        db.conn.execute("COMMIT")
        return result
    finally:
        db.conn.close()


def _apply_pending(
    db: Db, path: str | pathlib.Path, migrations: Sequence[Migration[Db]]
) -> MigrationResult:
    db.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY,"
        " description TEXT NOT NULL, apply_us INTEGER NOT NULL)"
    )
    (current,) = db.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()

    def apply(migration: Migration[Db]) -> None:
        migration.apply(db)
        db.execute(
            "INSERT INTO schema_migrations (version, description, apply_us) VALUES (?, ?, ?)",
            (migration.version, migration.description, records.micros(time.time())),
        )

    return apply_pending(current, migrations, database=str(path), apply=apply)
