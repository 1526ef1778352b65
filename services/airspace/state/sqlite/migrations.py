"""Versioned schema migrations of the SQLite state database.

The schema_migrations table records every version applied. Opening a database applies
the pending migrations in order, all in one transaction, so a failure leaves the
database as it was. A database without the table (new, or made before versions were
recorded) is at version 0; migration 1 creates only what is missing, so it adopts an
older database in place. A database at a version newer than this code knows is
refused: this code could misread it, or write what the newer code would misread.
"""

from __future__ import annotations

import dataclasses
import pathlib
import time
from collections.abc import Callable, Sequence

from airspace.state import records
from airspace.state.sqlite import schema_v1
from airspace.state.sqlite.access import Db
from airspace.state.sqlite.connection import connect


@dataclasses.dataclass(frozen=True)
class Migration:
    version: int
    description: str
    apply: Callable[[Db], None]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "runs with their events and journal, workflows, agents, approvals, memory, leases",
        schema_v1.create_tables,
    ),
)


@dataclasses.dataclass(frozen=True)
class MigrationResult:
    # The database's schema version after the call.
    version: int
    # In the order applied; empty when the database was current.
    applied: list[Migration]


class SchemaTooNewError(RuntimeError):
    """The database was migrated by a newer release than this one."""


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
    db: Db, path: str | pathlib.Path, migrations: Sequence[Migration]
) -> MigrationResult:
    db.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY,"
        " description TEXT NOT NULL, apply_us INTEGER NOT NULL)"
    )
    (current,) = db.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()
    latest = migrations[-1].version if migrations else 0
    if current > latest:
        raise SchemaTooNewError(
            f"the state database {path} is at schema version {current}, but this release"
            f" of airspace knows versions up to {latest}; run a release that knows"
            f" version {current}, or restore a backup made by this one"
        )
    pending = [migration for migration in migrations if migration.version > current]
    for migration in pending:
        migration.apply(db)
        db.execute(
            "INSERT INTO schema_migrations (version, description, apply_us) VALUES (?, ?, ?)",
            (migration.version, migration.description, records.micros(time.time())),
        )
    return MigrationResult(version=max(current, latest), applied=pending)
