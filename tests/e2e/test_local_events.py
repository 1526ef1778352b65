"""Streams of runs the router executes come from the router itself (local_events.py):
event for event what the state service holds, with no WatchEvents stream of the state
service; a cancel made through another router replica still reaches them."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from mesh_support import ECHO, Mesh, apply, collect_events, echo_agent, register, text_input
from prometheus_client import REGISTRY

from airspace.agents.kit import Agent, Reply
from airspace.router.repositories.grpc_repositories import MeshRepositories
from airspace.v1 import run_pb2

pytestmark = pytest.mark.mesh

GATED = "name: gated\npattern: sequential\nsteps: [{name: only, agent: gate}]"


def state_watches() -> float:
    """WatchEvents streams the state service ended, whatever their status."""
    return sum(
        sample.value
        for metric in REGISTRY.collect()
        if metric.name == "airspace_grpc_server_handled"
        for sample in metric.samples
        if sample.labels.get("grpc_method") == "WatchEvents" and sample.name.endswith("_total")
    )


def gate_agent() -> tuple[Agent, asyncio.Event, asyncio.Event]:
    """An agent that works until the test releases it, and says when it started."""
    gate = Agent(name="gate", version="1.0.0", description="Waits for its release")
    started, release = asyncio.Event(), asyncio.Event()

    @gate.handler
    async def wait(task):
        started.set()
        await release.wait()
        return Reply(text="released")

    return gate, started, release


@contextlib.asynccontextmanager
async def gated_mesh(
    tmp_path, quiet_seconds: float
) -> AsyncIterator[tuple[Mesh, asyncio.Event, asyncio.Event]]:
    """A mesh with the echo and gate agents and their workflows; its watchers wait
    `quiet_seconds` for an event before they ask the state service."""
    mesh = Mesh(
        tmp_path, counted=frozenset({"state"}), router={"watch_quiet_seconds": quiet_seconds}
    )
    await mesh.start()
    client = mesh.client()
    agent, started, release = gate_agent()
    try:
        for served in (echo_agent(), agent):
            await register(client, await mesh.serve_agent(served))
        for source in (ECHO, GATED):
            await apply(client, source)
        yield mesh, started, release
    finally:
        release.set()
        await mesh.stop()


@pytest.fixture
async def patient(tmp_path):
    """A gated mesh whose watchers never leave the router's feed for want of events."""
    async with gated_mesh(tmp_path, 3600.0) as gated:
        yield gated


@pytest.fixture
async def impatient(tmp_path):
    """A gated mesh whose watchers ask the state service after 0.2 s without an event."""
    async with gated_mesh(tmp_path, 0.2) as gated:
        yield gated


async def stored(mesh: Mesh, run_id: str) -> list[run_pb2.RunEvent]:
    """The events of a run as the state service lists them (ListEvents)."""
    assert mesh.router_settings is not None
    repositories = MeshRepositories(mesh.router_settings)
    try:
        return await repositories.repositories.runs.events("acme", run_id, 0, 5000)
    finally:
        await repositories.close()


async def test_execute_run_streams_what_the_state_service_holds_without_watching_it(patient):
    mesh, _, _ = patient
    client = mesh.client()
    before = state_watches()
    request = run_pb2.ExecuteRunRequest(workflow="echo-twice", input=text_input("hi"))
    streamed = await collect_events(client.runs.ExecuteRun(request, metadata=client.metadata))
    assert streamed[-1].run_state_changed.to == run_pb2.RUN_STATE_COMPLETED
    assert streamed == await stored(mesh, streamed[-1].run_id)
    finished = await client.runs.RunWorkflow(
        run_pb2.RunWorkflowRequest(workflow="echo-twice", input=text_input("again")),
        metadata=client.metadata,
    )
    assert finished.run.state == run_pb2.RUN_STATE_COMPLETED
    assert state_watches() == before, "no WatchEvents stream for runs executing here"


async def test_watch_run_of_a_run_under_way_here_streams_what_the_state_service_holds(
    patient,
):
    mesh, agent_started, release = patient
    client = mesh.client()
    before = state_watches()
    started = await client.runs.StartRun(
        run_pb2.StartRunRequest(workflow="gated"), metadata=client.metadata
    )
    await agent_started.wait()
    run_id = started.run.run_id
    watch = client.runs.WatchRun(run_pb2.WatchRunRequest(run_id=run_id), metadata=client.metadata)
    # The step's start reaches the watcher while the agent works (the flush timer), so the
    # watcher follows the router's feed before the run can end.
    events = aiter(watch)
    first = await anext(events)
    release.set()
    streamed = [first, *await collect_events(events)]
    assert streamed[-1].run_state_changed.to == run_pb2.RUN_STATE_COMPLETED
    assert streamed == await stored(mesh, run_id)
    assert state_watches() == before


async def test_a_cancel_through_another_replica_reaches_an_execute_run_stream(impatient):
    mesh, agent_started, _ = impatient
    client = mesh.client()
    other = mesh.client(gateway=await mesh.add_replica("router-2"))
    execute = client.runs.ExecuteRun(
        run_pb2.ExecuteRunRequest(workflow="gated"), metadata=client.metadata
    )
    streaming = asyncio.create_task(collect_events(execute))
    await agent_started.wait()  # the agent works at router-1 until the end of the test
    [listed] = (await other.runs.ListRuns(run_pb2.ListRunsRequest(), metadata=other.metadata)).runs
    await other.runs.CancelRun(
        run_pb2.CancelRunRequest(run_id=listed.run_id, reason="not needed"),
        metadata=other.metadata,
    )
    streamed = await streaming  # collect_events checks that the stream ended CANCELLED
    assert streamed[-1].run_state_changed.to == run_pb2.RUN_STATE_CANCELED
    assert streamed == await stored(mesh, listed.run_id)
