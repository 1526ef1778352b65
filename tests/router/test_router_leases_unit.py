"""The router's lease on in-memory repositories: one heartbeat keeps all its runs, a
lapsed lease stops them until they are claimed again, and a router that stops has its
runs taken over at another's next heartbeat, not at its next recovery pass."""

from __future__ import annotations

import asyncio

import pytest
from harness import TENANT, final

from airspace.agent.v1 import agent_pb2
from airspace.router.agent_invoker import OnAction
from airspace.v1 import run_pb2

pytestmark = pytest.mark.unit

COMPLETED = run_pb2.RUN_STATE_COMPLETED
TWO_STEPS = """
name: pair
pattern: sequential
steps:
  - {name: first, agent: quick}
  - {name: second, agent: held}
"""
# Long enough that only a heartbeat can have woken a router's recovery.
NEVER = 3600.0


def held_until(release: asyncio.Event):
    async def behaviour(start: agent_pb2.InvokeStart, act: OnAction) -> agent_pb2.InvokeEvent:
        await release.wait()
        return final("held")

    return behaviour


async def quick(start: agent_pb2.InvokeStart, act: OnAction) -> agent_pb2.InvokeEvent:
    return final("quick")


async def calls_reach(router, count: int) -> None:
    while len(router.agents.calls) < count:
        await asyncio.sleep(0.01)


async def waiting_at_its_second_step(router, release: asyncio.Event) -> run_pb2.Run:
    """A run of TWO_STEPS, its second step held at the agent until `release` is set."""
    await router.register("quick", quick)
    await router.register("held", held_until(release))
    run = await router.start(await router.workflow(TWO_STEPS))
    await calls_reach(router, 2)
    return run


async def test_one_router_lease_keeps_all_its_runs_through_many_heartbeats(router):
    release = asyncio.Event()
    await router.register("quick", quick)
    await router.register("held", held_until(release))
    workflow = await router.workflow(TWO_STEPS)
    runs = [await router.start(workflow) for _ in range(5)]
    await calls_reach(router, 10)  # every run waits at its second step
    await asyncio.sleep(0.5)  # ten heartbeats
    release.set()
    for run in runs:
        assert (await router.settled(run)).state == COMPLETED
    assert len(router.agents.calls) == 10, "a run stopped and ran a step again"


async def test_a_router_whose_lease_lapsed_stops_its_runs_and_claims_them_again(router):
    release = asyncio.Event()
    run = await waiting_at_its_second_step(router, release)
    router.executor.start_recovery()
    router.repositories.leases.expire("router-1")  # it stalled past its lease
    await calls_reach(router, 3)  # registered again, claimed the run, invoked step 2 again
    release.set()
    assert (await router.settled(run)).state == COMPLETED
    events = await router.events(run)
    assert not [e for e in events if e.HasField("lease_taken_over")], "its own run, not a takeover"
    completed = [e.step_key for e in events if e.HasField("step_completed")]
    assert completed == ["s0001-first", "s0002-second"]
    keys = {start.idempotency_key for start in router.agents.calls[1:]}
    assert len(keys) == 1, "step 2 was invoked again with the same idempotency key"


async def test_a_stopped_router_is_taken_over_at_the_next_heartbeat_of_another(router):
    release = asyncio.Event()
    run = await waiting_at_its_second_step(router, release)
    replica = router.replica("router-2", recovery_interval_seconds=NEVER)
    replica.executor.start_recovery()  # claims nothing: router-1 holds the run
    await asyncio.sleep(0.1)
    await router.close()  # lets its lease lapse now
    await calls_reach(router, 3)
    release.set()
    done = await replica.settled(run)
    assert done.state == COMPLETED
    [taken] = [
        e.lease_taken_over for e in await router.events(run) if e.HasField("lease_taken_over")
    ]
    assert (taken.previous_owner, taken.new_owner, taken.fencing_token) == (
        "router-1",
        "router-2",
        2,
    )
    assert "router-1" in taken.reason
    assert (await router.repositories.runs.get(TENANT, run.run_id)).state == COMPLETED
    await replica.close()
