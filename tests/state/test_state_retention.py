"""Durability features of the state store: state changes appended atomically with their
events, no events after a run ended, pruning, idempotent memory writes, upgrades of
older database files, and query plans that stay on their indexes as the store grows."""

from __future__ import annotations

import sqlite3

import grpc
import pytest
from google.protobuf import field_mask_pb2, timestamp_pb2
from state_helpers import expect_error, make_run, started, value

from airspace.mesh import errors
from airspace.state import records
from airspace.state.sqlite import leases, migrations
from airspace.state.sqlite.store import SqliteStateStore
from airspace.state.store.runs import RunChange
from airspace.state.v1 import state_pb2
from airspace.v1 import run_pb2

pytestmark = pytest.mark.mesh

RUNNING, COMPLETED = run_pb2.RUN_STATE_RUNNING, run_pb2.RUN_STATE_COMPLETED
ACTIVE = (run_pb2.RUN_STATE_QUEUED, RUNNING)


def ending(state: int = COMPLETED) -> RunChange:
    run = run_pb2.Run(state=state)
    run.output.update({"answer": 42})
    return RunChange(run, ["state", "output"], ACTIVE)


async def append(store, run_id, *events, change=None, expected=None, tenant="acme"):
    return await store.runs.append_events(
        tenant,
        run_id,
        list(events),
        [],
        expected_last_sequence=expected,
        lease_owner="",
        change=change,
    )


async def finished_run(store, run_id: str, tenant: str = "acme", events: int = 2) -> run_pb2.Run:
    await store.runs.create_run(make_run(run_id, tenant=tenant))
    await append(store, run_id, *(started(f"s{i}") for i in range(events - 1)), tenant=tenant)
    appended = await append(store, run_id, started("end"), change=ending(), tenant=tenant)
    return appended.run


async def test_a_state_change_is_appended_with_its_events_or_not_at_all(store):
    await store.runs.create_run(make_run("r1"))
    appended = await append(store, "r1", started("a"), change=ending())
    assert appended.last_sequence == 1
    assert (appended.run.state, appended.run.last_event_sequence) == (COMPLETED, 1)
    assert appended.run.output["answer"] == 42 and appended.run.HasField("end_time")
    assert (await store.runs.get_run("acme", "r1")) == appended.run

    await store.runs.create_run(make_run("r2"))
    await store.runs.update_run("acme", run_pb2.Run(run_id="r2", state=COMPLETED), ["state"], ())
    with pytest.raises(errors.FailedPrecondition) as ended:
        await append(store, "r2", started("late"))
    assert ended.value.reason == "RUN_ENDED"
    page = await store.runs.list_events("acme", "r2", after_sequence=0, limit=10)
    assert page.events == [] and page.last_sequence == 0


async def test_a_refused_state_change_appends_nothing(store):
    await store.runs.create_run(make_run("r1"))
    change = RunChange(run_pb2.Run(state=COMPLETED), ["state"], [RUNNING])
    with pytest.raises(errors.FailedPrecondition) as refused:
        await append(store, "r1", started("a"), change=change)
    assert refused.value.reason == "RUN_STATE_MISMATCH"
    assert (await store.runs.get_run("acme", "r1")).last_event_sequence == 0


async def test_a_retried_ending_is_told_its_sequence_moved_not_that_the_run_ended(store):
    await store.runs.create_run(make_run("r1"))
    await append(store, "r1", started("end"), change=ending(), expected=0)
    with pytest.raises(errors.Aborted) as moved:
        await append(store, "r1", started("end"), change=ending(), expected=0)
    assert moved.value.reason == "SEQUENCE_MISMATCH"


async def test_prune_counts_then_deletes_payloads_and_keeps_records(store, clock):
    old = [await finished_run(store, f"old{i}", events=3) for i in range(3)]
    await store.memory.put_memory(
        "acme", "run/old0", "k", value("v"), expected_version=None, ttl_seconds=None
    )
    await store.memory.put_memory(
        "acme", "tenant", "k", value("v"), expected_version=None, ttl_seconds=None
    )
    other_tenant = await finished_run(store, "theirs", tenant="umbrella")
    clock.advance(60)
    cutoff = records.micros(clock())
    fresh = await finished_run(store, "fresh")
    await store.runs.create_run(make_run("active"))
    await append(store, "active", started("a"))

    counted = await store.runs.prune_runs("acme", cutoff, validate_only=True, limit=1)
    assert (counted.runs, counted.events, counted.journal_entries, counted.more) == (3, 9, 0, False)
    assert (
        len((await store.runs.list_events("acme", "old0", after_sequence=0, limit=10)).events) == 3
    )

    first = await store.runs.prune_runs("acme", cutoff, validate_only=False, limit=2)
    assert (first.runs, first.events, first.more) == (2, 6, True)
    rest = await store.runs.prune_runs("acme", cutoff, validate_only=False, limit=2)
    assert (rest.runs, rest.events, rest.more) == (1, 3, False)
    assert (await store.runs.prune_runs("acme", cutoff, validate_only=False, limit=2)).runs == 0

    for run in old:
        kept = await store.runs.get_run("acme", run.run_id)
        assert kept.state == COMPLETED and kept.end_time == run.end_time
        assert not kept.HasField("input") and not kept.HasField("output")
        with pytest.raises(errors.FailedPrecondition) as pruned:
            await store.runs.list_events("acme", run.run_id, after_sequence=0, limit=10)
        assert pruned.value.reason == "RUN_PRUNED"
        with pytest.raises(errors.FailedPrecondition):
            await store.runs.get_journal("acme", run.run_id)
        # Nothing is missing after the last sequence: a caught-up watcher just ends.
        caught_up = await store.runs.list_events("acme", run.run_id, after_sequence=3, limit=10)
        assert caught_up.events == [] and caught_up.run_ended
    with pytest.raises(errors.NotFound):
        await store.memory.get_memory("acme", "run/old0", "k")
    assert (await store.memory.get_memory("acme", "tenant", "k")).version == 1
    for tenant, run in (("acme", fresh), ("umbrella", other_tenant)):
        page = await store.runs.list_events(tenant, run.run_id, after_sequence=0, limit=10)
        assert len(page.events) == 2
    assert (
        len((await store.runs.list_events("acme", "active", after_sequence=0, limit=10)).events)
        == 1
    )


async def test_a_retried_memory_write_returns_what_it_wrote(store):
    first = await store.memory.put_memory(
        "acme", "tenant", "k", value("a"), expected_version=0, ttl_seconds=None, request_id="w1"
    )
    again = await store.memory.put_memory(
        "acme", "tenant", "k", value("a"), expected_version=0, ttl_seconds=None, request_id="w1"
    )
    assert again == first
    with pytest.raises(errors.Aborted) as lost:
        await store.memory.put_memory(
            "acme", "tenant", "k", value("b"), expected_version=0, ttl_seconds=None, request_id="w2"
        )
    assert lost.value.reason == "VERSION_MISMATCH"


async def test_a_database_of_an_earlier_version_is_upgraded(tmp_path, clock):
    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.executescript(
        """
        CREATE TABLE runs (run_id TEXT PRIMARY KEY, tenant TEXT NOT NULL, request_id TEXT NOT NULL,
          workflow TEXT, state INTEGER NOT NULL, create_us INTEGER NOT NULL,
          last_sequence INTEGER NOT NULL, data BLOB NOT NULL);
        CREATE INDEX idx_runs_state_create_us ON runs (state, create_us);
        CREATE TABLE memory (tenant TEXT, namespace TEXT, key TEXT, version INTEGER NOT NULL,
          expire_us INTEGER, data BLOB NOT NULL, PRIMARY KEY (tenant, namespace, key));
        """
    )
    done = make_run("done")
    done.state = COMPLETED
    done.end_time.FromMicroseconds(records.micros(clock()))
    db.execute(
        "INSERT INTO runs VALUES ('done', 'acme', 'req-done', 'review', ?, 1, 0, ?)",
        (COMPLETED, done.SerializeToString()),
    )
    db.commit()
    db.close()

    store = SqliteStateStore(path, clock=clock)
    try:
        counted = await store.runs.prune_runs(
            "acme", records.micros(clock()), validate_only=True, limit=10
        )
        assert counted.runs == 1
        await store.memory.put_memory(
            "acme", "tenant", "k", value("v"), expected_version=0, ttl_seconds=None, request_id="x"
        )
    finally:
        await store.close()


def plan(db_path, sql: str, args=()) -> str:
    with sqlite3.connect(db_path) as db:
        return " | ".join(row[-1] for row in db.execute(f"EXPLAIN QUERY PLAN {sql}", args))


def test_hot_queries_stay_on_their_indexes(db_path):
    migrations.apply_migrations(db_path)
    claimable = plan(db_path, leases.CLAIMABLE, (0, 0, 5))
    assert "runs_active" in claimable and "TEMP B-TREE" not in claimable
    prunable = plan(
        db_path,
        "SELECT COUNT(*) FROM runs WHERE tenant = ? AND end_us IS NOT NULL AND end_us < ?"
        " AND prune_us IS NULL",
        ("acme", 1),
    )
    assert "runs_prunable" in prunable
    listing = plan(
        db_path,
        "SELECT data FROM runs WHERE tenant = ? ORDER BY create_us DESC, run_id DESC LIMIT 5",
        ("acme",),
    )
    assert "TEMP B-TREE" not in listing


# Over gRPC ----------------------------------------------------------------


async def test_prune_and_run_update_requests_are_checked(stub):
    await stub.CreateRun(state_pb2.CreateRunRequest(run=make_run("r1")))
    invalid = grpc.StatusCode.INVALID_ARGUMENT
    await expect_error(
        stub.PruneRuns(state_pb2.PruneRunsRequest(tenant="acme")), invalid, field="finished_before"
    )
    request = state_pb2.AppendEventsRequest(
        tenant="acme",
        run_id="r1",
        events=[started()],
        run_update=state_pb2.RunUpdate(
            run=run_pb2.Run(state=COMPLETED),
            update_mask=field_mask_pb2.FieldMask(paths=["state", "input"]),
        ),
    )
    await expect_error(stub.AppendEvents(request), invalid, field="run_update.update_mask.paths[1]")
    request.run_update.update_mask.paths[:] = ["state"]
    request.run_update.run.run_id = "r2"
    await expect_error(stub.AppendEvents(request), invalid, field="run_update.run.run_id")
    request.run_update.run.run_id = ""
    appended = await stub.AppendEvents(request)
    assert appended.run.state == COMPLETED and appended.last_sequence == 1
    pruned = await stub.PruneRuns(
        state_pb2.PruneRunsRequest(
            tenant="acme", finished_before=timestamp_pb2.Timestamp(seconds=4_000_000_000)
        )
    )
    assert (pruned.pruned_runs, pruned.deleted_events, pruned.more) == (1, 1, False)
