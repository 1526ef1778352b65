"""The router's registry cache in the whole mesh: a run naming no version runs the
version just registered, a run after an agent registered again goes to its new
endpoint, and the runs in between read neither from the state service; another router
learns of both from the state service's registry watch."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from mesh_support import apply, register, text_input
from prometheus_client import REGISTRY

from airspace.agents.kit import Agent, Reply
from airspace.mesh import channels, identity
from airspace.router import main as router_main
from airspace.v1 import run_pb2, run_pb2_grpc

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


async def until_a_run(run, condition) -> run_pb2.Run:
    """Runs until a run meets the condition: what another router announced takes the
    time of a stream message to arrive."""
    async with asyncio.timeout(20):
        while not condition(ran := await run()):
            await asyncio.sleep(0.02)
    return ran


async def test_another_router_runs_what_was_registered_through_this_one(mesh):
    client = mesh.client()
    await register(client, await mesh.serve_agent(relay("the first endpoint")))
    await apply(client, ONE_STEP)
    other = router_main.build(
        dataclasses.replace(mesh.router_settings, port=0, router_id="router-b")
    )
    channel = channels.open_channel(
        f"127.0.0.1:{await other.start()}",
        mesh.router_settings,
        as_identity=identity.Identity("user:olivia", "acme", ("operator",)),
    )
    runs = run_pb2_grpc.RunServiceStub(channel)

    async def run_there() -> run_pb2.Run:
        request = run_pb2.RunWorkflowRequest(workflow="relay", input=text_input("hello"))
        return (await runs.RunWorkflow(request, timeout=30)).run

    async def cached_run() -> bool:
        hits = lookups("hit")
        await run_there()
        return lookups("hit") - hits == 2

    try:
        async with asyncio.timeout(20):
            while not await cached_run():  # until the other router's watch is live
                await asyncio.sleep(0.02)
        assert (await apply(client, TWO_STEPS)).version == 2
        latest = await until_a_run(run_there, lambda ran: ran.workflow.version == 2)
        assert latest.usage.steps == 2
        await register(client, await mesh.serve_agent(relay("the second endpoint")))
        await until_a_run(run_there, lambda ran: ran.output["text"] == "the second endpoint")
    finally:
        await channel.close()
        await other.stop(0.2)
