"""Large payloads on every store implementation (STORE_FACTORIES): stored once by digest
apart from the rows that reference them, read back as written, and deleted by pruning
once no run uses them."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3

import psycopg
import pytest
from state_helpers import make_run, started

from airspace.state import records
from airspace.state.postgres import payloads
from airspace.state.postgres.store import PostgresStateStore
from airspace.state.rules.payloads import DEFAULT_INLINE_BYTES, RUN_FIELDS, split
from airspace.state.sqlite import migrations
from airspace.state.sqlite import payloads as sqlite_payloads
from airspace.state.sqlite.store import SqliteStateStore
from airspace.state.store.runs import RunChange
from airspace.state.v1 import state_pb2
from airspace.v1 import run_pb2

pytestmark = pytest.mark.unit

RUNNING, COMPLETED = run_pb2.RUN_STATE_RUNNING, run_pb2.RUN_STATE_COMPLETED
# 200 KiB of text that differs all along, so no page or row compression hides its size.
DOCUMENT = " ".join(f"clause-{n}" for n in range(20_000))[: 200 * 1024]


@pytest.fixture
def rows(store, request):
    """Runs a query on the database under the test's store."""
    if isinstance(store, SqliteStateStore):
        path = request.getfixturevalue("db_path")

        def on_sqlite(sql: str) -> list[tuple]:
            with contextlib.closing(sqlite3.connect(path)) as db:
                return db.execute(sql).fetchall()

        return on_sqlite
    url = request.getfixturevalue("postgres_schema")

    def on_postgres(sql: str) -> list[tuple]:
        with psycopg.connect(url) as conn:
            return conn.execute(sql).fetchall()

    return on_postgres


def document_run(run_id: str, document: str = DOCUMENT, tenant: str = "acme") -> run_pb2.Run:
    run = make_run(run_id, tenant=tenant)
    run.input.update({"document": document})
    return run


def step_done(step: str, text: str) -> tuple[run_pb2.RunEvent, state_pb2.JournalEntry]:
    """A StepCompleted event and its journal entry, with the same output."""
    event = run_pb2.RunEvent(step_key=step, agent="writer")
    event.step_completed.step_name = step
    event.step_completed.attempt = 1
    event.step_completed.output.message.parts.add().text = text
    event.step_completed.output.data.update({"pages": 80})
    entry = state_pb2.JournalEntry(step_key=step, step_name=step, agent="writer", attempt=1)
    entry.output.CopyFrom(event.step_completed.output)
    return event, entry


async def append(store, run_id, events, journal=(), change=None, tenant="acme"):
    return await store.runs.append_events(
        tenant,
        run_id,
        list(events),
        list(journal),
        expected_last_sequence=None,
        lease_owner="",
        change=change,
    )


async def complete(store, run_id: str, text: str, tenant: str = "acme") -> run_pb2.Run:
    """Ends the run with `text` as its output, in its record and its RunOutput event."""
    ended = run_pb2.Run(state=COMPLETED)
    ended.output.update({"text": text})
    output = run_pb2.RunEvent(run_output=run_pb2.RunOutput(output=ended.output))
    change = RunChange(ended, ["state", "output"], (run_pb2.RUN_STATE_QUEUED, RUNNING))
    return (await append(store, run_id, [output], change=change, tenant=tenant)).run


def count(rows, table: str) -> int:
    return rows(f"SELECT COUNT(*) FROM {table}")[0][0]


async def test_a_large_output_reads_back_as_written_from_events_journal_and_run(store, rows):
    await store.runs.create_run(make_run("r1"))
    event, entry = step_done("draft", DOCUMENT)
    await append(store, "r1", [event], [entry])
    ended = await complete(store, "r1", DOCUMENT)

    events = (await store.runs.list_events("acme", "r1", after_sequence=0, limit=10)).events
    assert events[0].step_completed.output == event.step_completed.output
    assert events[0].step_completed.output.message.parts[0].text == DOCUMENT
    assert events[1].run_output.output["text"] == DOCUMENT
    (journaled,) = await store.runs.get_journal("acme", "r1")
    assert journaled.output == entry.output
    assert (await store.runs.get_run("acme", "r1")) == ended
    assert ended.output["text"] == DOCUMENT
    listed = await store.runs.list_runs("acme", workflow="", state=0, page_size=10, page_token="")
    assert listed.items == [ended]

    # The step's output (event and journal entry) and the run's (record and RunOutput
    # event) are stored once each; the hot rows keep references only.
    assert count(rows, "payloads") == 2
    for table in ("runs", "events", "journal"):
        assert max(size for (size,) in rows(f"SELECT length(data) FROM {table}")) < 1024


async def test_a_document_repeated_in_many_runs_is_stored_once(store, rows):
    for n in range(3):
        await store.runs.create_run(document_run(f"r{n}"))
        event, entry = step_done("read", DOCUMENT)
        await append(store, f"r{n}", [started("read"), event], [entry])
    # The input document and the step's output: one each, used by three runs.
    assert count(rows, "payloads") == 2
    assert count(rows, "payload_uses") == 6
    again = await store.runs.create_run(document_run("r0"))
    assert not again.created and again.run.input["document"] == DOCUMENT


async def test_each_tenant_stores_its_own_copy(store, rows):
    await store.runs.create_run(document_run("r1", tenant="acme"))
    await store.runs.create_run(document_run("r2", tenant="globex"))
    assert sorted(rows("SELECT tenant FROM payloads")) == [("acme",), ("globex",)]
    assert (await store.runs.get_run("globex", "r2")).input["document"] == DOCUMENT


async def test_payloads_at_or_below_the_threshold_stay_inline(store, rows):
    at_threshold = "x" * (DEFAULT_INLINE_BYTES - 64)
    await store.runs.create_run(document_run("r1", at_threshold))
    event, entry = step_done("draft", at_threshold)
    await append(store, "r1", [event], [entry])
    await complete(store, "r1", "short")
    assert count(rows, "payloads") == 0 and count(rows, "payload_uses") == 0
    for table in ("runs", "events", "journal"):
        assert rows(f"SELECT payload_refs FROM {table} WHERE payload_refs IS NOT NULL") == []
    assert (await store.runs.get_run("acme", "r1")).input["document"] == at_threshold


async def test_pruning_deletes_the_payloads_no_other_run_uses(store, rows, clock):
    # r1 and r2 read the same document; r1 alone wrote its report.
    await store.runs.create_run(document_run("r1"))
    await store.runs.create_run(document_run("r2"))
    event, entry = step_done("report", "report " + DOCUMENT)
    await append(store, "r1", [event], [entry])
    await complete(store, "r1", "done")
    now = records.micros(clock())
    assert count(rows, "payloads") == 2

    pruned = await store.runs.prune_runs("acme", now, validate_only=False, limit=10)
    assert pruned.runs == 1
    # The report went with r1; the document stays, r2 uses it.
    assert count(rows, "payloads") == 1
    assert (await store.runs.get_run("acme", "r2")).input["document"] == DOCUMENT
    pruned_run = await store.runs.get_run("acme", "r1")
    assert not pruned_run.HasField("input") and pruned_run.state == COMPLETED

    await complete(store, "r2", "done")
    await store.runs.prune_runs("acme", records.micros(clock()), validate_only=False, limit=10)
    assert count(rows, "payloads") == 0 and count(rows, "payload_uses") == 0


async def test_a_claimed_run_comes_with_its_large_input(store):
    await store.runs.create_run(document_run("r1"))
    epoch = (await store.leases.register_router("router-a", 2.0)).epoch
    (claimed,) = await store.leases.claim_runs("router-a", epoch, 10, min_age_seconds=0)
    assert claimed.run.input["document"] == DOCUMENT


def test_on_sqlite_payload_reads_and_sweeps_search_the_primary_keys(db_path):
    migrations.apply_migrations(db_path)
    with contextlib.closing(sqlite3.connect(db_path)) as db:

        def plan(sql: str) -> str:
            return " | ".join(row[-1] for row in db.execute(f"EXPLAIN QUERY PLAN {sql}", "abc"))

        select, sweep = plan(sqlite_payloads.select_sql(2)), plan(sqlite_payloads.sweep_sql(2))
    assert "SEARCH payloads USING" in select and "SCAN" not in select, select
    assert "SEARCH payloads USING" in sweep and "SEARCH u USING" in sweep, sweep
    assert "SCAN" not in sweep, sweep


# PostgreSQL: a write and a pruning of another run meeting on one payload -------------


@pytest.fixture
async def postgres(postgres_schema, clock):
    opened = PostgresStateStore(postgres_schema, pool_size=2, clock=clock)
    yield opened
    await opened.close()


async def blocked_by(url: str, conn: psycopg.AsyncConnection) -> None:
    """Returns once another session waits for a lock the connection holds."""
    holder = conn.info.backend_pid
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as watcher:
        for _ in range(1000):
            waiting = await watcher.execute(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))",
                (holder,),
            )
            if (await waiting.fetchone() or (0,))[0]:
                return
            await asyncio.sleep(0.01)
    pytest.fail("no session waited for the lock")


async def test_a_pruning_waits_for_a_write_that_uses_its_payload(postgres, postgres_schema, clock):
    await postgres.runs.create_run(document_run("r1"))
    await complete(postgres, "r1", "done")
    now = records.micros(clock())
    async with await psycopg.AsyncConnection.connect(postgres_schema) as writer:
        # r2's write under way: the document it uses share-locked, its use not committed.
        record = split(document_run("r2"), RUN_FIELDS, DEFAULT_INLINE_BYTES)
        await payloads.save(writer, "acme", "r2", [record])
        pruning = asyncio.create_task(
            postgres.runs.prune_runs("acme", now, validate_only=False, limit=10)
        )
        await blocked_by(postgres_schema, writer)
        await writer.commit()
        assert (await pruning).runs == 1
    with psycopg.connect(postgres_schema) as conn:
        (kept,) = conn.execute("SELECT COUNT(*) FROM payloads").fetchone() or (0,)
    assert kept == 1


async def test_a_write_that_waited_for_a_pruning_stores_the_payload_again(
    postgres, postgres_schema
):
    await postgres.runs.create_run(document_run("r1"))
    async with await psycopg.AsyncConnection.connect(postgres_schema) as pruning:
        # r1's pruning under way: its document deleted, not committed.
        await payloads.release(pruning, "acme", "r1")
        writing = asyncio.create_task(postgres.runs.create_run(document_run("r2")))
        await blocked_by(postgres_schema, pruning)
        await pruning.commit()
        await writing
    assert (await postgres.runs.get_run("acme", "r2")).input["document"] == DOCUMENT
