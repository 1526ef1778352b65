"""Versioned schema migrations of the SQLite state database."""

from __future__ import annotations

import json
import sqlite3

import pytest
from state_helpers import (
    STATE_LISTING_SQL,
    check_runs_listed_by_state,
    check_the_old_lease_is_taken_over,
    make_run,
    started,
    value,
    version_2_leased_run,
    version_4_runs,
)

from airspace.cli import main as cli
from airspace.state.sqlite.migrations import (
    MIGRATIONS,
    Migration,
    SchemaTooNewError,
    apply_migrations,
)
from airspace.state.sqlite.store import SqliteStateStore

pytestmark = pytest.mark.unit


def recorded_versions(path) -> list[int]:
    with sqlite3.connect(path) as db:
        return [v for (v,) in db.execute("SELECT version FROM schema_migrations ORDER BY 1")]


def tables(path) -> set[str]:
    with sqlite3.connect(path) as db:
        return {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def test_migrations_are_numbered_from_one_without_gaps():
    assert [m.version for m in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))


def test_a_new_database_gets_every_migration(db_path):
    result = apply_migrations(db_path)
    assert result.applied == list(MIGRATIONS)
    assert result.version == MIGRATIONS[-1].version
    assert recorded_versions(db_path) == [m.version for m in MIGRATIONS]
    assert {"runs", "events", "journal", "approvals", "memory", "leases"} <= tables(db_path)


def test_reopening_applies_nothing(db_path):
    apply_migrations(db_path)
    again = apply_migrations(db_path)
    assert again.applied == [] and again.version == MIGRATIONS[-1].version
    assert recorded_versions(db_path) == [m.version for m in MIGRATIONS]


def test_only_the_pending_migrations_run(db_path):
    apply_migrations(db_path)
    extra = Migration(
        len(MIGRATIONS) + 1, "a notes table", lambda db: db["notes"].create({"x": int})
    )
    result = apply_migrations(db_path, [*MIGRATIONS, extra])
    assert result.applied == [extra] and "notes" in tables(db_path)


def test_a_failing_migration_leaves_the_database_as_it_was(db_path):
    def fail(db):
        raise RuntimeError("disk on fire")

    broken = Migration(len(MIGRATIONS) + 1, "fails", fail)
    with pytest.raises(RuntimeError, match="disk on fire"):
        apply_migrations(db_path, [*MIGRATIONS, broken])
    assert "runs" not in tables(db_path)  # migration 1 was undone with it
    assert apply_migrations(db_path).applied == list(MIGRATIONS)


def test_a_database_of_a_newer_release_is_refused(db_path, clock):
    apply_migrations(db_path)
    newer = MIGRATIONS[-1].version + 1
    with sqlite3.connect(db_path) as db:
        db.execute("INSERT INTO schema_migrations VALUES (?, 'from the future', 0)", (newer,))
    with pytest.raises(SchemaTooNewError) as refused:
        apply_migrations(db_path)
    assert f"at schema version {newer}" in str(refused.value)
    assert f"knows versions up to {MIGRATIONS[-1].version}" in str(refused.value)
    with pytest.raises(SchemaTooNewError):
        SqliteStateStore(db_path, clock=clock)


async def test_a_database_from_before_schema_versions_is_adopted_with_its_data(db_path, clock):
    store = SqliteStateStore(db_path, clock=clock)
    await store.runs.create_run(make_run("r1"))
    await store.runs.append_events(
        "acme", "r1", [started()], [], expected_last_sequence=0, lease_owner=""
    )
    await store.memory.put_memory(
        "acme", "tenant", "k", value("v"), expected_version=None, ttl_seconds=None
    )
    await store.close()
    # Version 1 is the schema such databases have; only the record of it is missing.
    with sqlite3.connect(db_path) as db:
        db.execute("DROP TABLE schema_migrations")

    adopted = apply_migrations(db_path)
    assert adopted.applied == list(MIGRATIONS)
    assert recorded_versions(db_path) == [m.version for m in MIGRATIONS]

    reopened = SqliteStateStore(db_path, clock=clock)
    try:
        assert (await reopened.runs.get_run("acme", "r1")).last_event_sequence == 1
        assert (await reopened.memory.get_memory("acme", "tenant", "k")).value == value("v")
    finally:
        await reopened.close()


def test_the_admin_migrate_command_prints_what_it_applied(db_path, capsys):
    assert cli.main(["admin", "migrate", "--database", str(db_path)]) == 0
    first = capsys.readouterr().out
    assert f"applied 1: {MIGRATIONS[0].description}" in first
    assert cli.main(["admin", "migrate", "--database", str(db_path), "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["applied"] == [] and again["version"] == MIGRATIONS[-1].version


async def test_the_run_leases_of_a_version_2_database_are_taken_over_after_the_upgrade(
    db_path, clock
):
    apply_migrations(db_path, MIGRATIONS[:2])
    run_row, lease_row = version_2_leased_run(clock)
    with sqlite3.connect(db_path) as db:
        db.execute(
            "INSERT INTO runs (run_id, tenant, request_id, workflow, state, create_us,"
            " last_sequence, data) VALUES ('r1', 'acme', 'req-r1', 'review', ?, 0, 0, ?)",
            run_row,
        )
        db.execute(
            "INSERT INTO leases (run_id, owner, expire_us, token) VALUES ('r1', 'old', ?, 4)",
            lease_row,
        )
    await check_the_old_lease_is_taken_over(SqliteStateStore(db_path, clock=clock))


async def test_runs_of_a_version_4_database_are_listed_by_state_through_an_index(db_path, clock):
    apply_migrations(db_path, MIGRATIONS[:4])
    with sqlite3.connect(db_path) as db:
        db.executemany(
            "INSERT INTO runs (run_id, tenant, request_id, workflow, state, create_us,"
            " last_sequence, data) VALUES (?, 'acme', ?, 'review', ?, ?, 0, ?)",
            [(run_id, f"req-{run_id}", *rest) for run_id, *rest in version_4_runs()],
        )
    assert [m.version for m in apply_migrations(db_path).applied] == [5, 6, 7]
    with sqlite3.connect(db_path) as db:
        plan = db.execute(
            "EXPLAIN QUERY PLAN " + STATE_LISTING_SQL.format("?"), ("acme", 2)
        ).fetchall()
    details = " | ".join(row[-1] for row in plan)
    # Found and ordered by the index: no scan, no sort of the tenant's runs.
    assert "USING INDEX runs_state_listing (tenant=? AND state=?)" in details
    assert "TEMP B-TREE" not in details
    await check_runs_listed_by_state(SqliteStateStore(db_path, clock=clock))
