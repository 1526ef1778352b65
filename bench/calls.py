"""The calls the benchmarks make, built on the load generator's pieces."""

from __future__ import annotations

import grpc

from airspace.v1 import run_pb2
from bench import loadgen
from bench.agents import WORKFLOW

RUN_TIMEOUT_SECONDS = 30.0
LIST_PAGE_SIZE = 10
BENCH_INPUT = {"text": "benchmark input"}


def execute_three_step(channel: grpc.aio.Channel, metadata) -> loadgen.Call:
    """ExecuteRun of the three-step workflow, read to its end."""
    return execute(channel, metadata, WORKFLOW)


def run_three_step(channel: grpc.aio.Channel, metadata) -> loadgen.Call:
    """RunWorkflow of the three-step workflow: one unary call that returns the finished
    run, the shape of the floor (two unary hops, then the agents' streams)."""
    method = loadgen.find_method("airspace.v1.RunService/RunWorkflow")
    request = run_pb2.RunWorkflowRequest(workflow=WORKFLOW)
    request.input.update(BENCH_INPUT)
    return loadgen.caller(channel, method, request, metadata=metadata, timeout=RUN_TIMEOUT_SECONDS)


def execute(channel: grpc.aio.Channel, metadata, workflow: str) -> loadgen.Call:
    """ExecuteRun of a workflow, read to its end: a run that does not complete ends the
    call with a non-OK status (ABORTED, CANCELLED), so it counts as a failed call."""
    method = loadgen.find_method("airspace.v1.RunService/ExecuteRun")
    request = run_pb2.ExecuteRunRequest(workflow=workflow)
    request.input.update(BENCH_INPUT)
    return loadgen.caller(channel, method, request, metadata=metadata, timeout=RUN_TIMEOUT_SECONDS)


def list_runs(channel: grpc.aio.Channel, metadata) -> loadgen.Call:
    """A unary ListRuns of one small page, as a load tester would send it."""
    method = loadgen.find_method("airspace.v1.RunService/ListRuns")
    request = method.request(f'{{"page_size": {LIST_PAGE_SIZE}}}')
    return loadgen.caller(channel, method, request, metadata=metadata)
