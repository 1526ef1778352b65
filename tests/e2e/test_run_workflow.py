"""RunService.RunWorkflow through the gateway, and how a run's end ends the calls that
follow it: OK for a COMPLETED run, ABORTED for a FAILED one, CANCELLED for a CANCELED
one, each with the run's reason and name; a request_id reused for another request."""

from __future__ import annotations

import asyncio
import uuid

import grpc
import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory
from grpc_reflection.v1alpha import reflection_pb2
from mesh_support import ECHO, apply, collect_events, echo_agent, error_info, register, text_input

from airspace.agents.kit import Agent, AgentFailure, Reply
from airspace.mesh import reflection
from airspace.v1 import run_pb2

pytestmark = pytest.mark.mesh

FAILING = "name: failing\npattern: sequential\nsteps: [{name: only, agent: broken}]"
SLOW = "name: slow-one\npattern: sequential\nsteps: [{name: only, agent: slow}]"


def agents() -> tuple[Agent, Agent, Agent, asyncio.Event]:
    """An agent that echoes, one that always fails, one that takes 30 s (and says when
    it started)."""
    echo = echo_agent()
    broken = Agent(name="broken", version="1.0.0", description="Always fails")
    slow = Agent(name="slow", version="1.0.0", description="Takes its time")
    started = asyncio.Event()

    @broken.handler
    async def fail(task):
        raise AgentFailure("INTERNAL", "the model crashed")

    @slow.handler
    async def wait(task):
        started.set()
        await asyncio.sleep(30)
        return Reply(text="late")

    return echo, broken, slow, started


@pytest.fixture
async def runs(mesh):
    client = mesh.client()
    echo, broken, slow, started = agents()
    for agent in (echo, broken, slow):
        await register(client, await mesh.serve_agent(agent))
    for source in (ECHO, FAILING, SLOW):
        await apply(client, source)
    return mesh, client, started


async def reflect(channel, *requests: reflection_pb2.ServerReflectionRequest) -> list:
    """Answers of grpc.reflection.v1 (its messages are v1alpha's, field for field)."""
    call = channel.stream_stream(
        f"/{reflection.V1_SERVICE_NAME}/ServerReflectionInfo",
        request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
        response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
    )
    return [answer async for answer in call(iter(requests))]


def pool_of(files: list[descriptor_pb2.FileDescriptorProto]) -> descriptor_pool.DescriptorPool:
    """A pool of only what reflection returned, each file after its imports."""
    pool, pending = descriptor_pool.DescriptorPool(), {file.name: file for file in files}
    while pending:
        ready = [f for f in pending.values() if all(d not in pending for d in f.dependency)]
        assert ready, f"reflection left out imports of {sorted(pending)}"
        for file in ready:
            pool.Add(file)
            del pending[file.name]
    return pool


async def test_run_workflow_found_by_reflection_returns_the_completed_run(runs):
    mesh, client, _ = runs
    async with grpc.aio.insecure_channel(mesh.gateway) as channel:
        listed, found = await reflect(
            channel,
            reflection_pb2.ServerReflectionRequest(list_services=""),
            reflection_pb2.ServerReflectionRequest(
                file_containing_symbol="airspace.v1.RunService.RunWorkflow"
            ),
        )
        files = [
            descriptor_pb2.FileDescriptorProto.FromString(serialized)
            for serialized in found.file_descriptor_response.file_descriptor_proto
        ]
        method = pool_of(files).FindMethodByName("airspace.v1.RunService.RunWorkflow")
        request_class = message_factory.GetMessageClass(method.input_type)
        response_class = message_factory.GetMessageClass(method.output_type)
        # JSON as a load tester writes it, with the json_name reflection serves.
        request = json_format.Parse(
            '{"workflow": "echo-twice", "input": {"text": "hello"}, "requestId": "rw-1"}',
            request_class(),
        )
        call = channel.unary_unary(
            "/airspace.v1.RunService/RunWorkflow",
            request_serializer=request_class.SerializeToString,
            response_deserializer=response_class.FromString,
        )
        response = await call(request, metadata=client.metadata, timeout=30)
    services = {service.name for service in listed.list_services_response.service}
    assert {"airspace.v1.RunService", "grpc.health.v1.Health", reflection.V1_SERVICE_NAME} <= (
        services
    )
    run = json_format.MessageToDict(response)["run"]
    assert (run["state"], run["requestId"]) == ("RUN_STATE_COMPLETED", "rw-1")
    assert run["output"] == {
        "agent": "echo",
        "data": {"seen": "hello"},
        "step": "second",
        "text": "hello",
    }
    assert run["usage"]["steps"] == 2


async def test_reflection_descriptors_carry_the_json_names_of_the_fields(runs):
    mesh, _, _ = runs
    async with grpc.aio.insecure_channel(mesh.gateway) as channel:
        [found] = await reflect(
            channel,
            reflection_pb2.ServerReflectionRequest(file_by_filename="airspace/v1/run.proto"),
        )
    [run_file] = [
        descriptor_pb2.FileDescriptorProto.FromString(serialized)
        for serialized in found.file_descriptor_response.file_descriptor_proto
        if descriptor_pb2.FileDescriptorProto.FromString(serialized).name == "airspace/v1/run.proto"
    ]
    names = {
        (message.name, field.name): field.json_name
        for message in run_file.message_type
        for field in message.field
    }
    assert names[("RunWorkflowRequest", "request_id")] == "requestId"
    assert names[("Run", "last_event_sequence")] == "lastEventSequence"
    assert all(names.values())


async def test_a_failed_run_ends_run_workflow_execute_run_and_watch_run_with_aborted(runs):
    _, client, _ = runs
    request = {"workflow": "failing", "input": text_input("x"), "request_id": uuid.uuid4().hex}
    with pytest.raises(grpc.aio.AioRpcError) as ended:
        await client.runs.RunWorkflow(
            run_pb2.RunWorkflowRequest(**request), metadata=client.metadata, timeout=30
        )
    assert ended.value.code() == grpc.StatusCode.ABORTED
    info = error_info(ended.value)
    run_name = info.metadata["run"]
    assert (info.reason, info.metadata["state"]) == ("AGENT_INTERNAL", "FAILED")
    assert info.metadata["agent"] == "broken" and run_name in ended.value.details()

    # The same request_id and request joins the run: its events, then the same end.
    joined = await collect_events(
        client.runs.ExecuteRun(run_pb2.ExecuteRunRequest(**request), metadata=client.metadata)
    )
    watched = await collect_events(
        client.runs.WatchRun(
            run_pb2.WatchRunRequest(run_id=run_name.removeprefix("runs/")),
            metadata=client.metadata,
        )
    )
    assert joined == watched and joined[-1].run_state_changed.to == run_pb2.RUN_STATE_FAILED
    assert f"runs/{joined[-1].run_id}" == run_name


async def test_a_canceled_run_ends_all_three_calls_with_cancelled(runs):
    _, client, started = runs
    request = {"workflow": "slow-one", "input": text_input("x"), "request_id": uuid.uuid4().hex}
    run = (
        await client.runs.StartRun(run_pb2.StartRunRequest(**request), metadata=client.metadata)
    ).run
    execution = client.runs.ExecuteRun(
        run_pb2.ExecuteRunRequest(**request), metadata=client.metadata
    )
    await asyncio.wait_for(started.wait(), 10)
    await client.runs.CancelRun(
        run_pb2.CancelRunRequest(run_id=run.run_id, reason="changed my mind"),
        metadata=client.metadata,
    )
    events = await collect_events(execution)  # checks the stream ended with CANCELLED
    assert events[-1].run_state_changed.to == run_pb2.RUN_STATE_CANCELED
    for call in (
        client.runs.RunWorkflow(
            run_pb2.RunWorkflowRequest(**request), metadata=client.metadata, timeout=30
        ),
        collect_events_strictly(
            client.runs.WatchRun(
                run_pb2.WatchRunRequest(run_id=run.run_id), metadata=client.metadata
            )
        ),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as ended:
            await call
        assert ended.value.code() == grpc.StatusCode.CANCELLED
        info = error_info(ended.value)
        assert (info.reason, info.metadata["run"]) == ("RUN_CANCELED", run.name)
        assert "changed my mind" in ended.value.details()


async def collect_events_strictly(stream) -> list:
    """The events of a stream, raising the status it ends with, whatever it is."""
    return [event async for event in stream]


async def test_a_deadline_before_the_runs_end_leaves_it_running_and_names_it(runs):
    _, client, started = runs
    with pytest.raises(grpc.aio.AioRpcError) as late:
        await client.runs.RunWorkflow(
            run_pb2.RunWorkflowRequest(workflow="slow-one", input=text_input("x")),
            metadata=client.metadata,
            timeout=5,
        )
    assert late.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    info = error_info(late.value)
    assert (info.reason, info.metadata["state"]) == ("RUN_STILL_RUNNING", "RUNNING")
    assert info.metadata["run"] in late.value.details()
    assert started.is_set()
    run = (
        await client.runs.GetRun(
            run_pb2.GetRunRequest(run_id=info.metadata["run"].removeprefix("runs/")),
            metadata=client.metadata,
        )
    ).run
    assert run.state == run_pb2.RUN_STATE_RUNNING


async def test_a_request_id_reused_for_another_request_is_refused(runs):
    _, client, _ = runs
    first = run_pb2.StartRunRequest(
        workflow="echo-twice", input=text_input("a"), request_id="order-7"
    )
    run = (await client.runs.StartRun(first, metadata=client.metadata)).run
    again = (await client.runs.StartRun(first, metadata=client.metadata)).run
    assert again.run_id == run.run_id  # the same request stays idempotent

    other = run_pb2.StartRunRequest(
        workflow="echo-twice", input=text_input("b"), request_id="order-7"
    )
    relabeled = run_pb2.RunWorkflowRequest(
        workflow="echo-twice", input=text_input("a"), request_id="order-7", labels={"k": "v"}
    )
    for call in (
        client.runs.StartRun(other, metadata=client.metadata),
        client.runs.RunWorkflow(relabeled, metadata=client.metadata, timeout=30),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await call
        assert refused.value.code() == grpc.StatusCode.ALREADY_EXISTS
        info = error_info(refused.value)
        assert (info.reason, info.metadata["run"]) == ("REQUEST_ID_REUSED", run.name)
        assert run.name in refused.value.details()
