"""Extreme values through the gateway, each refused with its field named and a short
message, never INTERNAL: the cases the fuzz test (test_fuzz_public_api.py) found, one by one."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import duration_pb2, struct_pb2, timestamp_pb2
from mesh_support import apply, register
from test_public_api import ECHO, echo_agent

from airspace.mesh import errors
from airspace.v1 import (
    admin_pb2,
    admin_pb2_grpc,
    approval_pb2,
    memory_pb2,
    memory_pb2_grpc,
    run_pb2,
    workflow_pb2,
)

pytestmark = pytest.mark.mesh

LONG_ID = "r" * 10_000
# Longest status message a caller gets back: ids and values in messages are cut short.
MAX_MESSAGE_CHARS = 1024


@pytest.fixture
async def client(mesh):
    client = mesh.client(roles=("operator", "admin", "approver"))
    await register(client, await mesh.serve_agent(echo_agent()))
    await apply(client, ECHO)
    return client


async def refusal(call) -> errors.MeshError:
    """The error a call ends with, as the mesh's domain error (details included)."""
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await call
    assert len(failure.value.details()) <= MAX_MESSAGE_CHARS
    return errors.from_rpc_error(failure.value)


def fields(error: errors.MeshError) -> list[str]:
    return [field for field, _ in error.violations]


def struct(value: dict) -> struct_pb2.Struct:
    result = struct_pb2.Struct()
    result.update(value)
    return result


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (
            lambda c, id: c.runs.GetRun(run_pb2.GetRunRequest(run_id=id), metadata=c.metadata),
            "run_id",
        ),
        (
            lambda c, id: c.workflows.GetWorkflow(
                workflow_pb2.GetWorkflowRequest(workflow=id), metadata=c.metadata
            ),
            "workflow",
        ),
        (
            lambda c, id: c.approvals.GetApproval(
                approval_pb2.GetApprovalRequest(approval_id=id), metadata=c.metadata
            ),
            "approval_id",
        ),
    ],
    ids=["run", "workflow", "approval"],
)
async def test_a_10k_character_id_is_refused_naming_its_field(client, call, field):
    error = await refusal(call(client, LONG_ID))
    assert isinstance(error, errors.InvalidArgument) and fields(error) == [field]
    assert error.message == f"{field} is longer than 256 characters"
    not_found = await refusal(call(client, "r" * 250))
    assert isinstance(not_found, errors.NotFound)
    assert not_found.message.endswith("' not found") and "…" in not_found.message


async def test_labels_are_a_few_short_pairs(client):
    for labels in ({f"k{n}": "v" for n in range(65)}, {"k": "v" * 257}, {"k" * 64: "v"}):
        error = await refusal(
            client.runs.StartRun(
                run_pb2.StartRunRequest(workflow="echo-twice", labels=labels),
                metadata=client.metadata,
            )
        )
        assert isinstance(error, errors.InvalidArgument)
        assert fields(error)[0].startswith("labels")


@pytest.mark.parametrize(
    ("seconds", "nanos"), [(2**62, 0), (-(2**62), 0), (253402300800, 0), (0, -1), (0, 2**31 - 1)]
)
async def test_prune_runs_refuses_a_timestamp_outside_protobufs_range(client, seconds, nanos):
    admin = admin_pb2_grpc.AdminServiceStub(client.channel)
    before = timestamp_pb2.Timestamp(seconds=seconds, nanos=nanos)
    error = await refusal(
        admin.PruneRuns(
            admin_pb2.PruneRunsRequest(finished_before=before, validate_only=True),
            metadata=client.metadata,
        )
    )
    assert isinstance(error, errors.InvalidArgument) and fields(error) == ["finished_before"]


@pytest.mark.parametrize("number", [float("inf"), float("-inf"), float("nan")])
async def test_a_workflow_spec_with_a_number_json_cannot_hold_is_refused(client, number):
    spec = struct(
        {"name": "odd", "pattern": "sequential", "steps": [{"name": "a", "agent": "echo"}]}
    )
    spec["steps"][0]["timeout_seconds"] = number
    error = await refusal(
        client.workflows.CreateWorkflow(
            workflow_pb2.CreateWorkflowRequest(spec=spec), metadata=client.metadata
        )
    )
    assert isinstance(error, errors.InvalidArgument) and fields(error) == ["spec"]
    assert "spec.steps[0].timeout_seconds" in error.message


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        (ECHO.replace("name: echo-twice", "name: odd\ndescription: .inf"), "source.description"),
        (ECHO.replace("name: echo-twice", "name: odd\ndescription: 2024-01-01"), "a date"),
        ("[" * 2000 + "]" * 2000, "nested more than 32 levels"),
        ("a: " + "[" * 40 + "]" * 40, "nested more than 32 levels"),
    ],
    ids=["infinity", "date", "too deep to parse", "too deep"],
)
async def test_a_workflow_source_that_json_cannot_hold_is_refused(client, source, problem):
    error = await refusal(
        client.workflows.CreateWorkflow(
            workflow_pb2.CreateWorkflowRequest(source=source), metadata=client.metadata
        )
    )
    assert isinstance(error, errors.InvalidArgument) and fields(error) == ["source"]
    assert problem in error.message


async def test_run_input_with_infinity_is_refused_naming_the_input(client):
    error = await refusal(
        client.runs.StartRun(
            run_pb2.StartRunRequest(workflow="echo-twice", input=struct({"x": [float("inf")]})),
            metadata=client.metadata,
        )
    )
    assert isinstance(error, errors.InvalidArgument) and fields(error) == ["input"]
    assert "input.x[0] is inf" in error.message


async def test_an_edited_payload_with_nan_is_refused_before_the_approval_is_looked_up(client):
    error = await refusal(
        client.approvals.DecideApproval(
            approval_pb2.DecideApprovalRequest(
                approval_id="any",
                outcome=run_pb2.APPROVAL_OUTCOME_EDITED,
                edited_payload=struct({"total": float("nan")}),
            ),
            metadata=client.metadata,
        )
    )
    assert isinstance(error, errors.InvalidArgument) and fields(error) == ["edited_payload"]


@pytest.mark.parametrize(
    ("request_fields", "field"),
    [
        ({"ttl": duration_pb2.Duration(seconds=2**62)}, "ttl"),
        ({"ttl": duration_pb2.Duration(seconds=5, nanos=-1)}, "ttl"),
        ({"value": struct_pb2.Value(number_value=float("inf"))}, "value"),
    ],
    ids=["ttl of 2**62 s", "ttl with the wrong sign of nanos", "infinite value"],
)
async def test_memory_writes_refuse_values_out_of_range(client, request_fields, field):
    memory = memory_pb2_grpc.MemoryServiceStub(client.channel)
    request = memory_pb2.PutMemoryEntryRequest(namespace="tenant", key="k", **request_fields)
    if "value" not in request_fields:
        request.value.string_value = "v"
    error = await refusal(memory.PutMemoryEntry(request, metadata=client.metadata))
    assert isinstance(error, errors.InvalidArgument) and fields(error) == [field]
