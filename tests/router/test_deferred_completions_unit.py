"""A completed step's write waits in the run log until the run's next agent invocation or
its end (its pause for a person included), whichever comes first: appends per run for
every pattern, and what a crash before or after that write does to the step."""

from __future__ import annotations

import asyncio

import pytest
from harness import TENANT, Behaviour, Router, answers, final, handoff

from airspace.agent.v1 import agent_pb2
from airspace.mesh import errors
from airspace.router.agent_invoker import OnAction
from airspace.v1 import approval_pb2, run_pb2

pytestmark = pytest.mark.unit

COMPLETED = run_pb2.RUN_STATE_COMPLETED
WAITING = run_pb2.RUN_STATE_WAITING_APPROVAL
SEQUENTIAL = """
name: three
pattern: sequential
steps:
  - {name: one, agent: alpha}
  - {name: two, agent: beta}
  - {name: three, agent: gamma}
"""
CONCURRENT = """
name: fan
pattern: concurrent
branches: [{agent: alpha}, {agent: beta}]
aggregate: {strategy: collect}
"""
SYNTHESIZED = """
name: synthesized
pattern: concurrent
branches: [{agent: alpha}, {agent: beta}]
aggregate: {strategy: synthesizer, synthesizer: {agent: gamma}}
"""
GROUP_CHAT = """
name: panel
pattern: group_chat
participants: [{agent: alpha}, {agent: beta}, {agent: gamma}]
termination: {max_rounds: 9, decider: gamma}
"""
HANDOFF = """
name: support
pattern: handoff
entry: alpha
agents: [{agent: alpha}, {agent: beta}, {agent: gamma}]
edges: [{from: alpha, to: [beta]}]
max_hops: 2
"""
GATED_SECOND = """
name: gated
pattern: sequential
steps:
  - {name: one, agent: alpha}
  - {name: two, agent: beta, approval: {before: true, role: approver}}
"""


def handing_to(target: str):
    async def behaviour(start: agent_pb2.InvokeStart, act: OnAction) -> agent_pb2.InvokeEvent:
        return handoff(target, "theirs")

    return behaviour


def together(barrier: asyncio.Barrier, text: str):
    """An agent that answers once every branch's agent was invoked, as agents called at
    once over the network would."""

    async def behaviour(start: agent_pb2.InvokeStart, act: OnAction) -> agent_pb2.InvokeEvent:
        await barrier.wait()
        return final(text)

    return behaviour


def branches_together() -> dict[str, Behaviour]:
    barrier = asyncio.Barrier(2)
    return {name: together(barrier, f"{name} says") for name in ("alpha", "beta")}


def held_until(release: asyncio.Event):
    async def behaviour(start: agent_pb2.InvokeStart, act: OnAction) -> agent_pb2.InvokeEvent:
        await release.wait()
        return final("held")

    return behaviour


async def completed_keys(router: Router, run: run_pb2.Run) -> list[str]:
    return [e.step_key for e in await router.events(run) if e.HasField("step_completed")]


async def journaled_keys(router: Router, run: run_pb2.Run) -> list[str]:
    return sorted(e.step_key for e in await router.repositories.runs.journal(TENANT, run.run_id))


@pytest.mark.parametrize(
    ("document", "behaviours", "appends", "steps"),
    [
        # Each step's write goes before the next step's Invoke; the last rides the end.
        (SEQUENTIAL, dict, 3, 3),
        # Both branches' writes ride the end: no agent is invoked after them.
        (CONCURRENT, branches_together, 1, 2),
        # The branches' writes go before the synthesizer's Invoke.
        (SYNTHESIZED, branches_together, 2, 3),
        (GROUP_CHAT, lambda: {"gamma": answers("decided", final=True)}, 3, 3),
        (HANDOFF, lambda: {"alpha": handing_to("beta")}, 2, 2),
    ],
    ids=["sequential", "concurrent", "synthesized", "group_chat", "handoff"],
)
async def test_a_run_writes_each_completed_step_with_its_next_invoke_or_its_end(
    router, document, behaviours, appends, steps
):
    scripted = behaviours()
    for name in ("alpha", "beta", "gamma"):
        await router.register(name, scripted.get(name, answers(f"{name} says")))
    run = await router.run(document)
    assert run.state == COMPLETED
    assert router.repositories.runs.writes["append"] == appends
    completed = await completed_keys(router, run)
    assert len(completed) == steps
    assert await journaled_keys(router, run) == sorted(completed)


async def test_a_completion_waiting_for_a_slow_sibling_reaches_watchers_on_the_timer(router):
    release = asyncio.Event()
    await router.register("alpha", answers("quick"))
    await router.register("beta", held_until(release))
    run = await router.start(await router.workflow(CONCURRENT))
    async with asyncio.timeout(10):  # a bound on a hang, not a measurement
        async for run_event in router.repositories.runs.watch(TENANT, run.run_id, 0, 10):
            if run_event.HasField("step_completed"):
                break
    assert run_event.agent == "alpha"
    assert await journaled_keys(router, run) == ["branch-alpha"]
    release.set()
    assert (await router.settled(run)).state == COMPLETED


async def resumed_elsewhere(router: Router, run: run_pb2.Run) -> run_pb2.Run:
    """The run once another router resumed it to its end."""
    replica = router.replica("router-2")
    try:
        replica.executor.launch(await router.repositories.runs.get(TENANT, run.run_id))
        return await replica.settled(run)
    finally:
        await replica.close()


class RefusingAppends:
    """The state service out of reach for the first append that would journal a step."""

    def __init__(self, router: Router) -> None:
        self.refused = 0
        runs = router.repositories.runs
        self._append = runs.append
        runs.append = self.append  # type: ignore[method-assign]

    async def append(self, *args, **kwargs):
        if kwargs.get("journal") and not self.refused:
            self.refused += 1
            raise errors.Unavailable("the state service is out of reach")
        return await self._append(*args, **kwargs)


async def test_a_crash_before_the_deferred_write_invokes_the_step_again_with_its_key(router):
    for name in ("alpha", "beta", "gamma"):
        await router.register(name, answers(f"{name} says"))
    refusing = RefusingAppends(router)
    run = await router.start(await router.workflow(SEQUENTIAL))
    # Step one's write, due before step two's Invoke, is refused: the router stops there.
    while router.executor.busy(run.run_id):
        await asyncio.sleep(0.01)
    assert refusing.refused == 1
    assert [start.step_key for start in router.agents.calls] == ["s0001-one"]
    assert not await router.repositories.runs.journal(TENANT, run.run_id)
    assert (await resumed_elsewhere(router, run)).state == COMPLETED
    calls = router.agents.calls
    assert [start.step_key for start in calls] == [
        "s0001-one",
        "s0001-one",
        "s0002-two",
        "s0003-three",
    ]
    assert calls[0].idempotency_key == calls[1].idempotency_key
    assert await completed_keys(router, run) == ["s0001-one", "s0002-two", "s0003-three"]


async def test_a_step_whose_write_is_durable_is_never_invoked_again(router):
    release = asyncio.Event()
    await router.register("alpha", answers("alpha says"))
    await router.register("beta", held_until(release))
    await router.register("gamma", answers("gamma says"))
    run = await router.start(await router.workflow(SEQUENTIAL))
    while len(router.agents.calls) < 2:  # step two's Invoke began: step one is durable
        await asyncio.sleep(0.01)
    assert await journaled_keys(router, run) == ["s0001-one"]
    await router.executor.shutdown()  # the router dies with step two in flight
    release.set()
    assert (await resumed_elsewhere(router, run)).state == COMPLETED
    keys = [start.step_key for start in router.agents.calls]
    assert keys == ["s0001-one", "s0002-two", "s0002-two", "s0003-three"]
    assert await completed_keys(router, run) == ["s0001-one", "s0002-two", "s0003-three"]


async def test_a_run_that_parks_for_a_person_writes_its_completed_steps_first(router):
    await router.register("alpha", answers("alpha says"))
    await router.register("beta", answers("beta says"))
    approvals = router.repositories.approvals
    create = approvals.create
    journaled_at_request: list[list[str]] = []

    async def recording_create(approval: approval_pb2.Approval) -> approval_pb2.Approval:
        entries = await router.repositories.runs.journal(TENANT, approval.run_id)
        journaled_at_request.append([entry.step_key for entry in entries])
        return await create(approval)

    approvals.create = recording_create  # type: ignore[method-assign]
    run = await router.run(GATED_SECOND)
    assert run.state == WAITING
    assert journaled_at_request == [["s0001-one"]]
    [approval] = await router.approvals()
    await router.decide(approval.approval_id, run_pb2.APPROVAL_OUTCOME_APPROVED)
    assert (await router.settled(run)).state == COMPLETED
    # Step one was durable before the run parked: its resumption replays it.
    assert [start.step_key for start in router.agents.calls] == ["s0001-one", "s0002-two"]
