"""Public requests into the domain's commands; servicers use these and nothing else.

JSON values and times are checked here, on the way in, so what the domain gets is plain
data that fits JSON and the clock (a bad value is refused naming its request field).
"""

from __future__ import annotations

from airspace.mesh import json_values, time_values
from airspace.router import commands, validation
from airspace.router.repositories import PageRequest
from airspace.v1 import (
    admin_pb2,
    agent_registry_pb2,
    approval_pb2,
    memory_pb2,
    run_pb2,
    workflow_pb2,
)


def start_run(
    request: run_pb2.StartRunRequest | run_pb2.ExecuteRunRequest | run_pb2.RunWorkflowRequest,
) -> commands.StartRun:
    return commands.StartRun(
        workflow=request.workflow,
        workflow_version=request.workflow_version,
        input=json_values.struct_dict(request.input, "input", validation.MAX_INPUT_DEPTH),
        labels=dict(request.labels),
        request_id=request.request_id,
    )


def list_runs(request: run_pb2.ListRunsRequest) -> commands.ListRuns:
    return commands.ListRuns(
        PageRequest(request.page_size, request.page_token), request.workflow, request.state
    )


def cancel_run(request: run_pb2.CancelRunRequest) -> commands.CancelRun:
    return commands.CancelRun(request.run_id, request.reason)


def create_workflow(request: workflow_pb2.CreateWorkflowRequest) -> commands.CreateWorkflow:
    kind = request.WhichOneof("document")
    return commands.CreateWorkflow(
        source=request.source if kind == "source" else None,
        document=json_values.struct_dict(request.spec, "spec") if kind == "spec" else None,
        validate_only=request.validate_only,
    )


def get_workflow(request: workflow_pb2.GetWorkflowRequest) -> commands.GetWorkflow:
    return commands.GetWorkflow(request.workflow, request.version)


def page(
    request: workflow_pb2.ListWorkflowsRequest | agent_registry_pb2.ListAgentsRequest,
) -> PageRequest:
    return PageRequest(request.page_size, request.page_token)


def register_agent(request: agent_registry_pb2.RegisterAgentRequest) -> commands.RegisterAgent:
    return commands.RegisterAgent(request.endpoint, request.agent, request.protocol)


def list_approvals(request: approval_pb2.ListApprovalsRequest) -> commands.ListApprovals:
    return commands.ListApprovals(
        PageRequest(request.page_size, request.page_token), request.state, request.run_id
    )


def decide_approval(request: approval_pb2.DecideApprovalRequest) -> commands.DecideApproval:
    if request.HasField("edited_payload"):
        json_values.struct_dict(request.edited_payload, "edited_payload")
    return commands.DecideApproval(
        approval_id=request.approval_id,
        outcome=request.outcome,
        comment=request.comment,
        edited_payload=request.edited_payload if request.HasField("edited_payload") else None,
        payload_hash=request.payload_hash,
    )


def memory_key(
    request: memory_pb2.GetMemoryEntryRequest | memory_pb2.DeleteMemoryEntryRequest,
) -> commands.MemoryKey:
    return commands.MemoryKey(request.namespace, request.key)


def expected_version(
    request: memory_pb2.PutMemoryEntryRequest | memory_pb2.DeleteMemoryEntryRequest,
) -> int | None:
    return request.expected_version if request.HasField("expected_version") else None


def put_memory(request: memory_pb2.PutMemoryEntryRequest) -> commands.PutMemory:
    if request.HasField("value"):
        json_values.value_data(request.value, "value")
    return commands.PutMemory(
        where=commands.MemoryKey(request.namespace, request.key),
        value=request.value if request.HasField("value") else None,
        expected_version=expected_version(request),
        ttl_seconds=(
            time_values.duration_seconds(request.ttl, "ttl") if request.HasField("ttl") else None
        ),
        request_id=request.request_id,
    )


def list_memory(request: memory_pb2.ListMemoryEntriesRequest) -> commands.ListMemory:
    return commands.ListMemory(
        request.namespace, request.key_prefix, PageRequest(request.page_size, request.page_token)
    )


def prune_runs(request: admin_pb2.PruneRunsRequest) -> commands.PruneRuns:
    before = (
        time_values.timestamp_micros(request.finished_before, "finished_before")
        if request.HasField("finished_before")
        else None
    )
    return commands.PruneRuns(before, request.validate_only, request.page_size)
