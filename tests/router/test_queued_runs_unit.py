"""Runs waiting in the router's admission queue: no task until their turn, started in
turn, canceled without ever starting, and left unleased when the router stops."""

from __future__ import annotations

import asyncio

import pytest
from harness import TENANT, Router, final

from airspace.agent.v1 import agent_pb2
from airspace.router.agent_invoker import OnAction
from airspace.v1 import run_pb2

pytestmark = pytest.mark.unit

ONE_STEP = """
name: one
pattern: sequential
steps: [{name: only, agent: alpha}]
"""


@pytest.fixture
async def held():
    """A router executing one run at a time, its agent holding every call until released."""
    release = asyncio.Event()
    router = Router(max_running_runs=1)

    async def behaviour(start: agent_pb2.InvokeStart, act: OnAction) -> agent_pb2.InvokeEvent:
        await release.wait()
        return final("done")

    await router.register("alpha", behaviour)
    await router.workflow(ONE_STEP)
    yield router, release
    release.set()
    await router.close()


async def first_at_the_agent(router: Router) -> run_pb2.Run:
    first = await router.start_run("one")
    while not router.agents.calls:
        await asyncio.sleep(0.01)
    return first


async def test_a_queued_run_has_no_task_until_its_turn_and_then_runs(held):
    router, release = held
    first = await first_at_the_agent(router)
    queued = [await router.start_run("one") for _ in range(3)]
    executor = router.executor
    assert all(executor.busy(run.run_id) for run in queued)
    assert set(executor._tasks) == {first.run_id}  # the waiting ones are records only
    release.set()
    for run in (first, *queued):
        assert (await router.settled(run)).state == run_pb2.RUN_STATE_COMPLETED
    assert not executor._tasks and not executor._waiting


async def test_a_queued_run_canceled_never_starts_and_frees_its_place_in_the_queue(held):
    router, release = held
    first = await first_at_the_agent(router)
    canceled = await router.start_run("one")
    after = await router.start_run("one")
    ended = await router.executor.cancel(canceled, "not needed", "user:alice")
    assert ended.state == run_pb2.RUN_STATE_CANCELED
    assert not router.executor.busy(canceled.run_id)
    release.set()
    for run in (first, after):
        assert (await router.settled(run)).state == run_pb2.RUN_STATE_COMPLETED
    assert len(router.agents.calls) == 2, "the canceled run never reached its agent"
    assert router.executor._admission._active == {}  # every ticket given back


async def test_a_router_that_stops_leaves_its_queued_runs_unleased_for_others(held):
    router, _ = held
    await first_at_the_agent(router)
    queued = await router.start_run("one")
    await router.close()
    stored = await router.repositories.runs.get(TENANT, queued.run_id)
    assert stored.state == run_pb2.RUN_STATE_QUEUED
    assert not router.repositories.runs.leases.held(queued.run_id)
    assert not router.executor.busy(queued.run_id)
