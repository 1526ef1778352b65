"""The calls the benchmarks make, built on the load generator's pieces."""

from __future__ import annotations

import grpc
from google.protobuf import struct_pb2

from airspace.v1 import run_pb2, run_pb2_grpc
from bench import loadgen
from bench.agents import WORKFLOW

RUN_TIMEOUT_SECONDS = 30.0
LIST_PAGE_SIZE = 10


def execute_three_step(channel: grpc.aio.Channel, metadata) -> loadgen.Call:
    """ExecuteRun of the three-step workflow, read to its end."""
    return execute(channel, metadata, WORKFLOW)


def execute(channel: grpc.aio.Channel, metadata, workflow: str) -> loadgen.Call:
    """ExecuteRun of a workflow, read to its end; a run that does not complete fails."""
    runs = run_pb2_grpc.RunServiceStub(channel)
    run_input = struct_pb2.Struct()
    run_input.update({"text": "benchmark input"})
    request = run_pb2.ExecuteRunRequest(workflow=workflow, input=run_input)

    async def call() -> None:
        final = run_pb2.RUN_STATE_UNSPECIFIED
        reason = ""
        events = runs.ExecuteRun(request, metadata=metadata, timeout=RUN_TIMEOUT_SECONDS)
        async for event in events:
            if event.HasField("run_state_changed"):
                final = event.run_state_changed.to
                reason = event.run_state_changed.reason
        if final != run_pb2.RUN_STATE_COMPLETED:
            state = run_pb2.RunState.Name(final).removeprefix("RUN_STATE_")
            raise loadgen.Failed(f"RUN_{state}", reason or "the run did not complete")

    return call


def list_runs(channel: grpc.aio.Channel, metadata) -> loadgen.Call:
    """A unary ListRuns of one small page, as a load tester would send it."""
    method = loadgen.find_method("airspace.v1.RunService/ListRuns")
    request = method.request(f'{{"page_size": {LIST_PAGE_SIZE}}}')
    return loadgen.caller(channel, method, request, metadata=metadata)
