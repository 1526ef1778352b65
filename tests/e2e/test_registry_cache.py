"""The router's registry cache in the whole mesh: a run naming no version runs the
version just registered, a run after an agent registered again goes to its new
endpoint, and the runs in between read neither from the state service."""

from __future__ import annotations

import asyncio

import pytest
from mesh_support import apply, register, text_input
from prometheus_client import REGISTRY

from airspace.agents.kit import Agent, Reply
from airspace.v1 import run_pb2

pytestmark = pytest.mark.mesh

ONE_STEP = "name: relay\npattern: sequential\nsteps: [{name: first, agent: relay}]"
TWO_STEPS = (
    "name: relay\npattern: sequential\n"
    "steps: [{name: first, agent: relay}, {name: second, agent: relay}]"
)


def relay(says: str) -> Agent:
    """An agent named relay that tells which one it is."""
    agent = Agent(name="relay", version="1.0.0", description="Says who answered")

    @agent.handler
    async def answer(task):
        return Reply(text=says)

    return agent


def lookups(result: str) -> float:
    total = 0.0
    for kind in ("workflow", "agents"):
        labels = {"kind": kind, "result": result}
        total += (
            REGISTRY.get_sample_value("airspace_router_registry_cache_lookups_total", labels) or 0.0
        )
    return total


async def watch_live() -> None:
    async with asyncio.timeout(10):
        while REGISTRY.get_sample_value("airspace_router_registry_watch_live") != 1:
            await asyncio.sleep(0.02)


async def test_the_next_run_uses_the_version_and_the_endpoint_just_registered(mesh):
    client = mesh.client()
    await watch_live()
    await register(client, await mesh.serve_agent(relay("the first endpoint")))
    assert (await apply(client, ONE_STEP)).version == 1

    async def run() -> run_pb2.Run:
        request = run_pb2.RunWorkflowRequest(workflow="relay", input=text_input("hello"))
        response = await client.runs.RunWorkflow(request, metadata=client.metadata, timeout=30)
        return response.run

    first = await run()
    assert (first.workflow.version, first.usage.steps) == (1, 1)
    assert first.output["text"] == "the first endpoint"
    hits = lookups("hit")
    again = await run()
    assert again.workflow.version == 1
    assert lookups("hit") - hits == 2  # the workflow and the agents, without a call

    assert (await apply(client, TWO_STEPS)).version == 2
    latest = await run()  # at once, naming no version
    assert (latest.workflow.version, latest.usage.steps) == (2, 2)

    await register(client, await mesh.serve_agent(relay("the second endpoint")))
    moved = await run()
    assert moved.output["text"] == "the second endpoint"
