"""The state writer's group commit as its metrics count it: one durable commit per batch."""

from __future__ import annotations

import asyncio
import threading

import pytest
from prometheus_client import REGISTRY
from state_helpers import Clock, make_run

from airspace.state.sqlite.access import BatchWriter
from airspace.state.sqlite.connection import connect
from airspace.state.sqlite.store import SqliteStateStore

pytestmark = pytest.mark.unit


def state_commits() -> float:
    return REGISTRY.get_sample_value("airspace_state_commits_total") or 0.0


def insert(n: int):
    return lambda db: db.execute("INSERT INTO notes VALUES (?)", [n])


async def test_writes_queued_during_a_commit_share_the_next_one(tmp_path):
    writer = BatchWriter(lambda: connect(tmp_path / "state.db"))
    await writer.submit(lambda db: db.execute("CREATE TABLE notes (n INTEGER)"))
    before = state_commits()
    entered, release = threading.Event(), threading.Event()

    def held(db):  # keeps the writer inside its transaction while more writes queue
        entered.set()
        release.wait(5)
        insert(0)(db)

    first = asyncio.ensure_future(writer.submit(held))
    await asyncio.to_thread(entered.wait, 5)
    rest = [asyncio.ensure_future(writer.submit(insert(n))) for n in range(1, 6)]
    await asyncio.sleep(0)  # each has queued its write
    release.set()
    await asyncio.gather(first, *rest)
    assert state_commits() - before == 2
    await writer.close()


async def test_a_router_lease_renewal_is_one_commit_however_many_runs_it_holds(tmp_path):
    store = SqliteStateStore(tmp_path / "state.db", clock=Clock())
    try:
        epoch = (await store.leases.register_router("router-a", 2)).epoch
        for index in range(50):
            await store.runs.create_run(make_run(f"r{index}"))
            await store.leases.claim_run(f"r{index}", "router-a", epoch)
        before = state_commits()
        await store.leases.renew_router_lease("router-a", epoch, 2)
        assert state_commits() - before == 1
    finally:
        await store.close()


async def test_a_write_whose_caller_went_away_still_tells_that_it_committed(tmp_path):
    writer = BatchWriter(lambda: connect(tmp_path / "state.db"))
    await writer.submit(lambda db: db.execute("CREATE TABLE notes (n INTEGER)"))
    entered, release = threading.Event(), threading.Event()
    committed: list[str] = []

    def held(db):
        entered.set()
        release.wait(5)
        insert(1)(db)
        return "inserted"

    caller = asyncio.ensure_future(writer.submit(held, committed.append))
    await asyncio.to_thread(entered.wait, 5)
    caller.cancel()  # a cancelled RPC: the write goes on and commits
    release.set()
    await writer.submit(lambda db: None)  # the next batch: the held one settled before it
    assert committed == ["inserted"]
    await writer.close()
