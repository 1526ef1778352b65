"""Versioned schema migrations of the PostgreSQL state database.

Applied when a store opens and by `airspace admin migrate`: in one transaction that
first takes a transaction-level advisory lock, so processes starting together take
turns and the later ones find the migrations applied. The runner and its refusal of a
newer schema are the ones SQLite uses (airspace.state.migrations). Migrations apply
to the first schema on the connection's search_path.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import psycopg

from airspace.mesh import database_urls
from airspace.state import records
from airspace.state.migrations import Migration, MigrationResult, apply_pending
from airspace.state.postgres import (
    schema_v1,
    schema_v2,
    schema_v3,
    schema_v4,
    schema_v5,
    schema_v6,
    schema_v7,
)

MIGRATIONS: tuple[Migration[psycopg.Connection], ...] = (
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
# Taken per schema: migrations of different schemas in one database need not wait.
_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended('airspace.state.migrations.' || current_schema(), 0))"


def apply_migrations(
    url: str, migrations: Sequence[Migration[psycopg.Connection]] = MIGRATIONS
) -> MigrationResult:
    """Applies the pending migrations to the database (and search_path) the URL names."""
    with psycopg.connect(url) as conn, conn.transaction():
        conn.execute(_LOCK)
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY,"
            " description text NOT NULL, apply_us bigint NOT NULL)"
        )
        found = conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()
        current = found[0] if found else 0  # an aggregate always answers one row

        def apply(migration: Migration[psycopg.Connection]) -> None:
            migration.apply(conn)
            conn.execute(
                "INSERT INTO schema_migrations (version, description, apply_us)"
                " VALUES (%s, %s, %s)",
                (migration.version, migration.description, records.micros(time.time())),
            )

        return apply_pending(current, migrations, database=database_urls.redacted(url), apply=apply)
