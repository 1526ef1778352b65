"""Calls to one agent past its limit wait their turn, within their own deadline; an
agent server that could take fewer calls than are parked on it never sees more."""

from __future__ import annotations

import asyncio

import pytest

from airspace.agent.v1 import agent_pb2
from airspace.agents.kit import Agent, Reply, Task
from airspace.agents.kit.settings import AgentSettings
from airspace.router.agent_admission import AdmissionTimeout, AgentAdmission
from airspace.router.agent_invoker import AgentInvoker
from airspace.router.settings import RouterSettings

pytestmark = pytest.mark.mesh


async def test_no_more_than_the_limit_are_in_flight_and_every_call_gets_its_turn():
    admission = AgentAdmission(limit=2)
    in_flight, most = 0, 0

    async def call() -> None:
        nonlocal in_flight, most
        async with admission.slot("agent:1", timeout=10):
            in_flight += 1
            most = max(most, in_flight)
            await asyncio.sleep(0.01)
            in_flight -= 1

    await asyncio.gather(*(call() for _ in range(7)))
    assert most == 2


async def test_a_call_whose_deadline_passes_in_the_queue_is_refused_and_leaves_no_slot_taken():
    admission = AgentAdmission(limit=1)
    release = asyncio.Event()

    async def holder() -> None:
        async with admission.slot("agent:1", timeout=10):
            await release.wait()

    held = asyncio.create_task(holder())
    await asyncio.sleep(0)
    with pytest.raises(AdmissionTimeout):
        async with admission.slot("agent:1", timeout=0.05):
            pass
    release.set()
    await held
    async with admission.slot("agent:1", timeout=1) as left:
        assert left > 0


async def test_runs_parked_on_a_slow_agent_queue_at_the_router_instead_of_failing(tmp_path):
    agent = Agent(name="slow", version="1.0.0")
    open_calls, most = 0, 0
    release = asyncio.Event()

    @agent.handler
    async def slow(task: Task) -> Reply:
        nonlocal open_calls, most
        open_calls += 1
        most = max(most, open_calls)
        await release.wait()
        open_calls -= 1
        return Reply(text="done")

    # The agent's server takes 4 calls at once and refuses the rest.
    server = agent.build_server(
        AgentSettings(port=0, grace_seconds=0, max_concurrent_rpcs=4, data_dir=str(tmp_path))
    )
    port = await server.start()
    invoker = AgentInvoker(RouterSettings(mesh_key=b"k" * 32), max_calls_per_agent=3)

    async def no_events(event: agent_pb2.InvokeEvent) -> None:
        return None

    async def no_actions(request: agent_pb2.ActionRequest) -> agent_pb2.ActionDecision:
        raise AssertionError("no actions here")

    async def invoke(n: int):
        start = agent_pb2.InvokeStart(idempotency_key=f"r/{n}", run_id="r", step_key=f"s{n}")
        return await invoker.invoke(f"127.0.0.1:{port}", start, 30, no_events, no_actions)

    calls = [asyncio.create_task(invoke(n)) for n in range(12)]
    while open_calls < 3:
        await asyncio.sleep(0.01)
    release.set()
    attempts = await asyncio.gather(*calls)
    await invoker.close()
    await server.stop(0)
    assert [a.failure_code for a in attempts if a.failure] == []
    assert all(a.final is not None for a in attempts) and most == 3
