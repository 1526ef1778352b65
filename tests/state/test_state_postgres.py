"""What only the PostgreSQL store has: wake-ups across replicas by LISTEN/NOTIFY,
migrations of processes starting together, and the state server that
AIRSPACE_STATE_URL points at PostgreSQL."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import threading
import uuid

import grpc
import psycopg
import pytest
from postgres_schemas import POSTGRES_URL, schema_url
from psycopg import sql
from state_helpers import (
    MESH_KEY,
    STATE_LISTING_SQL,
    check_runs_listed_by_state,
    check_the_old_lease_is_taken_over,
    make_run,
    signed,
    started,
    struct,
    version_2_leased_run,
    version_4_runs,
)

from airspace.cli import main as cli
from airspace.mesh import database_urls, errors, settings
from airspace.state.main import build_server
from airspace.state.migrations import Migration, SchemaTooNewError
from airspace.state.postgres import migrations
from airspace.state.postgres.notifications import LISTENER_NAME
from airspace.state.postgres.store import PostgresStateStore
from airspace.state.settings import ENV_PREFIX, StateSettings
from airspace.state.v1 import state_pb2
from airspace.state.watch import watch_events
from airspace.v1 import agent_registry_pb2, run_pb2, workflow_pb2

pytestmark = pytest.mark.mesh

COMPLETED = run_pb2.RUN_STATE_COMPLETED


def recorded_versions(url: str) -> list[int]:
    with psycopg.connect(url) as conn:
        return [v for (v,) in conn.execute("SELECT version FROM schema_migrations ORDER BY 1")]


def tables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
        ).fetchall()
    return {name for (name,) in rows}


async def append(store, run_id: str, *events) -> int:
    appended = await store.runs.append_events(
        "acme", run_id, list(events), [], expected_last_sequence=None, lease_owner=""
    )
    return appended.last_sequence


@pytest.fixture
async def two_stores(postgres_schema, clock):
    """Two stores on one database, as two state replicas would be."""
    stores = [PostgresStateStore(postgres_schema, pool_size=2, clock=clock) for _ in range(2)]
    yield stores
    for store in stores:
        await store.close()


async def follow(store, run_id: str, seen: list[int]) -> None:
    # A re-check this far away never fires: only a notification wakes the watcher.
    async for event in watch_events(store.runs, "acme", run_id, 0, recheck_seconds=3600):
        seen.append(event.sequence)


async def watched_run(writer, reader) -> tuple[asyncio.Task, list[int]]:
    """Run r1, created through `writer` and followed through `reader`: the watcher's
    task and the sequences it has seen."""
    await writer.runs.create_run(make_run("r1"))
    seen: list[int] = []
    watcher = asyncio.create_task(follow(reader, "r1", seen))
    await wait_until(lambda: reader.runs._signals.watched_runs() == 1)
    await reader.runs.get_run("acme", "r1")  # returns once the reader's store listens
    return watcher, seen


def terminate_listeners() -> int:
    """Ends every store's listening connection; returns how many there were."""
    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        cut = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
            (LISTENER_NAME,),
        ).fetchall()
    return len(cut)


async def wait_until(condition, seconds: float = 10.0) -> None:
    async with asyncio.timeout(seconds):
        while not condition():
            await asyncio.sleep(0.01)


# LISTEN/NOTIFY ------------------------------------------------------------


async def test_a_watcher_on_one_store_wakes_for_appends_through_another(two_stores):
    writer, reader = two_stores
    watcher, seen = await watched_run(writer, reader)
    await asyncio.sleep(0.1)  # the watcher read the empty log and waits

    assert await append(writer, "r1", started("a")) == 1
    await wait_until(lambda: seen == [1])
    await append(writer, "r1", started("b"), started("c"))
    await writer.runs.update_run("acme", run_pb2.Run(run_id="r1", state=COMPLETED), ["state"], ())
    await asyncio.wait_for(watcher, 10)
    assert seen == [1, 2, 3]


async def test_a_refused_append_announces_nothing(two_stores):
    writer, reader = two_stores
    await writer.runs.create_run(make_run("r1"))
    with reader.runs.subscribe("r1") as changed:
        await reader.runs.get_run("acme", "r1")  # the first operation starts listening
        with pytest.raises(errors.Aborted):
            await writer.runs.append_events(
                "acme", "r1", [started()], [], expected_last_sequence=5, lease_owner=""
            )
        await asyncio.sleep(0.2)
        assert not changed.is_set()  # NOTIFY is delivered only on commit
        await append(writer, "r1", started())
        await asyncio.wait_for(changed.wait(), 10)


async def test_watchers_are_woken_after_the_listening_connection_is_lost(two_stores):
    writer, reader = two_stores
    watcher, seen = await watched_run(writer, reader)
    assert terminate_listeners() >= 2  # both stores' listeners
    # Written while nobody listened: the reconnect wakes every watcher to re-read.
    await append(writer, "r1", started("a"))
    await wait_until(lambda: seen == [1])
    await append(writer, "r1", started("b"))  # and announcements flow again
    await wait_until(lambda: seen == [1, 2])
    watcher.cancel()
    with pytest.raises(asyncio.CancelledError):
        await watcher


# Registry changes -----------------------------------------------------------


def review(steps: list[str]) -> workflow_pb2.Workflow:
    return workflow_pb2.Workflow(workflow="review", tenant="acme", spec=struct(steps=steps))


async def next_change(changes) -> state_pb2.RegistryChange:
    async with asyncio.timeout(10):
        return await anext(changes)


async def test_a_registry_change_through_one_store_is_announced_by_another(two_stores):
    writer, reader = two_stores
    async with reader.registry_changes.subscribe() as changes:
        await writer.workflows.put_workflow(review(["a"]))
        agent = agent_registry_pb2.Agent(agent="writer", tenant="acme", endpoint="h:1")
        await writer.agents.put_agent(agent)
        first, second = await next_change(changes), await next_change(changes)
    assert (first.kind, first.name, first.revision) == (
        state_pb2.REGISTRY_KIND_WORKFLOW,
        "review",
        1,
    )
    assert (second.kind, second.tenant, second.name) == (
        state_pb2.REGISTRY_KIND_AGENT,
        "acme",
        "writer",
    )


async def test_registry_changes_of_another_schema_are_not_announced(two_stores, clock):
    _, reader = two_stores
    schema = f"test_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    elsewhere = PostgresStateStore(schema_url(schema), pool_size=1, clock=clock)
    try:
        async with reader.registry_changes.subscribe() as changes:
            await elsewhere.workflows.put_workflow(review(["elsewhere"]))
            await reader.workflows.put_workflow(review(["here"]))
            announced = await next_change(changes)
        assert announced.revision == 1  # not the other schema's version
    finally:
        await elsewhere.close()
        with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


async def test_registry_subscriptions_end_when_the_listening_connection_is_lost(two_stores):
    writer, reader = two_stores
    async with reader.registry_changes.subscribe() as changes:
        terminate_listeners()
        # A change committed while nobody listened is lost: the subscriber must start over.
        with pytest.raises(errors.Unavailable):
            await next_change(changes)
    async with asyncio.timeout(10):
        while True:  # refused until the listener is back
            try:
                async with reader.registry_changes.subscribe() as changes:
                    await writer.workflows.put_workflow(review(["a"]))
                    assert (await next_change(changes)).revision == 1
                    return
            except errors.Unavailable:
                await asyncio.sleep(0.05)


# Migrations ---------------------------------------------------------------


def test_a_new_schema_gets_every_migration_once(postgres_schema):
    result = migrations.apply_migrations(postgres_schema)
    assert result.applied == list(migrations.MIGRATIONS)
    assert {"runs", "events", "journal", "approvals", "memory", "leases"} <= tables(postgres_schema)
    again = migrations.apply_migrations(postgres_schema)
    assert again.applied == [] and again.version == migrations.MIGRATIONS[-1].version


async def test_the_run_leases_of_a_version_2_schema_are_taken_over_after_the_upgrade(
    postgres_schema, clock
):
    migrations.apply_migrations(postgres_schema, migrations.MIGRATIONS[:2])
    run_row, lease_row = version_2_leased_run(clock)
    with psycopg.connect(postgres_schema) as conn:
        conn.execute(
            "INSERT INTO runs (run_id, tenant, request_id, workflow, state, create_us,"
            " last_sequence, data) VALUES ('r1', 'acme', 'req-r1', 'review', %s, 0, 0, %s)",
            run_row,
        )
        conn.execute(
            "INSERT INTO leases (run_id, owner, expire_us, token) VALUES ('r1', 'old', %s, 4)",
            lease_row,
        )
    store = PostgresStateStore(postgres_schema, pool_size=2, clock=clock)
    await check_the_old_lease_is_taken_over(store)


async def test_runs_of_a_version_4_schema_are_listed_by_state_through_an_index(
    postgres_schema, clock
):
    migrations.apply_migrations(postgres_schema, migrations.MIGRATIONS[:4])
    with psycopg.connect(postgres_schema) as conn:
        conn.cursor().executemany(
            "INSERT INTO runs (run_id, tenant, request_id, workflow, state, create_us,"
            " last_sequence, data) VALUES (%s, 'acme', %s, 'review', %s, %s, 0, %s)",
            [(run_id, f"req-{run_id}", *rest) for run_id, *rest in version_4_runs()],
        )
    assert [m.version for m in migrations.apply_migrations(postgres_schema).applied] == [5, 6, 7]
    with psycopg.connect(postgres_schema) as conn:
        # Three rows are cheaper to scan than to look up: ask for the plan a big table gets.
        conn.execute("SET enable_seqscan = off")
        plan = conn.execute(
            "EXPLAIN (COSTS OFF) " + STATE_LISTING_SQL.format("%s"), ("acme", 2)
        ).fetchall()
    lines = [line for (line,) in plan]
    # Found and ordered by the index: no scan, no sort of the tenant's runs.
    assert "Index Scan Backward using runs_state_listing on runs" in lines[1]
    assert not any("Sort" in line for line in lines)
    await check_runs_listed_by_state(PostgresStateStore(postgres_schema, pool_size=2, clock=clock))


def test_processes_starting_together_apply_the_migrations_once(postgres_schema):
    starting = 4
    barrier = threading.Barrier(starting)

    def start() -> list:
        barrier.wait()
        return migrations.apply_migrations(postgres_schema).applied

    with concurrent.futures.ThreadPoolExecutor(starting) as pool:
        outcomes = list(pool.map(lambda _: start(), range(starting)))
    assert sorted(len(applied) for applied in outcomes) == [0] * (starting - 1) + [
        len(migrations.MIGRATIONS)
    ]
    assert recorded_versions(postgres_schema) == [m.version for m in migrations.MIGRATIONS]


def test_a_failing_migration_leaves_the_schema_as_it_was(postgres_schema):
    def fail(conn):
        raise RuntimeError("disk on fire")

    broken = Migration(len(migrations.MIGRATIONS) + 1, "fails", fail)
    with pytest.raises(RuntimeError, match="disk on fire"):
        migrations.apply_migrations(postgres_schema, [*migrations.MIGRATIONS, broken])
    assert tables(postgres_schema) == set()


def test_a_schema_of_a_newer_release_is_refused(postgres_schema, clock):
    migrations.apply_migrations(postgres_schema)
    newer = migrations.MIGRATIONS[-1].version + 1
    with psycopg.connect(postgres_schema) as conn:
        conn.execute("INSERT INTO schema_migrations VALUES (%s, 'from the future', 0)", (newer,))
    with pytest.raises(SchemaTooNewError, match=f"at schema version {newer}"):
        PostgresStateStore(postgres_schema, clock=clock)


def test_admin_migrate_applies_to_the_url_and_hides_its_password(postgres_schema, capsys):
    assert cli.main(["admin", "migrate", "--url", postgres_schema, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["version"] == migrations.MIGRATIONS[-1].version and result["applied"]
    with_password = postgres_schema.replace("postgres@", "postgres:hunter2@")
    assert "hunter2" not in database_urls.redacted(with_password)
    assert database_urls.redacted(with_password).startswith("postgresql://postgres:***@")


def test_a_state_url_must_name_postgresql():
    with pytest.raises(errors.InvalidArgument):
        StateSettings(url="mysql://root@localhost/airspace")


# The state server on AIRSPACE_STATE_URL ------------------------------------


async def test_state_servers_on_one_url_serve_a_run_end_to_end(
    postgres_schema, tmp_path, monkeypatch, connect
):
    monkeypatch.setenv("AIRSPACE_STATE_URL", postgres_schema)
    config = settings.load(StateSettings, ENV_PREFIX, data_dir=str(tmp_path), mesh_key=MESH_KEY)
    servers = [build_server(config) for _ in range(2)]
    ports = [await server.start() for server in servers]
    try:
        writer, reader = (connect(port) for port in ports)
        await writer.CreateRun(state_pb2.CreateRunRequest(run=make_run("r1")))
        watch = reader.WatchEvents(
            state_pb2.WatchEventsRequest(tenant="acme", run_id="r1"),
            metadata=signed(),
            timeout=30,
        )
        await writer.AppendEvents(
            state_pb2.AppendEventsRequest(tenant="acme", run_id="r1", events=[started("a")])
        )
        assert (await watch.read()).sequence == 1
        await writer.AppendEvents(
            state_pb2.AppendEventsRequest(
                tenant="acme",
                run_id="r1",
                events=[started("b")],
                run_update=state_pb2.RunUpdate(
                    run=run_pb2.Run(state=COMPLETED),
                    update_mask={"paths": ["state"]},
                ),
            )
        )
        assert (await watch.read()).sequence == 2
        assert await watch.read() is grpc.aio.EOF
        run = (await reader.GetRun(state_pb2.GetRunRequest(tenant="acme", run_id="r1"))).run
        assert run.state == COMPLETED and run.last_event_sequence == 2
        assert not (tmp_path / "state.db").exists()
    finally:
        for server in servers:
            await server.stop(0)
