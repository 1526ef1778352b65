"""Run input size limits: each workflow's (limits.max_input_bytes, 256 KiB unless it sets
one), enforced by the router, and the gateway's cap over every workflow."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import struct_pb2
from mesh_support import apply, register, violations
from test_public_api import echo_agent

from airspace.gateway.settings import GatewaySettings
from airspace.mesh import errors
from airspace.mesh.reasons import Reason
from airspace.router.spec.model import DEFAULT_MAX_INPUT_BYTES
from airspace.v1 import run_pb2, workflow_pb2

pytestmark = pytest.mark.mesh

GATEWAY_CAP = GatewaySettings.max_input_bytes


def workflow(name: str, limits: str = "") -> str:
    return f"name: {name}\npattern: sequential\n{limits}steps: [{{name: a, agent: echo}}]\n"


def text_of(size: int) -> struct_pb2.Struct:
    """An input whose serialized size is about `size` bytes."""
    value = struct_pb2.Struct()
    value.update({"text": "x" * size})
    return value


@pytest.fixture
async def client(mesh):
    client = mesh.client()
    await register(client, await mesh.serve_agent(echo_agent()))
    await apply(client, workflow("plain"))
    await apply(client, workflow("small", "limits: {max_input_bytes: 2048}\n"))
    await apply(client, workflow("large", f"limits: {{max_input_bytes: {GATEWAY_CAP * 2}}}\n"))
    return client


async def start(client, name: str, size: int) -> run_pb2.Run:
    request = run_pb2.StartRunRequest(workflow=name, input=text_of(size))
    return (await client.runs.StartRun(request, metadata=client.metadata)).run


async def too_large(client, name: str, size: int) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await start(client, name, size)
    assert failure.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert errors.from_rpc_error(failure.value).reason == Reason.INPUT_TOO_LARGE
    assert list(violations(failure.value)) == ["input"]
    return failure.value


async def test_a_workflow_takes_256_kib_of_input_unless_it_says_otherwise(client):
    assert (await start(client, "plain", DEFAULT_MAX_INPUT_BYTES - 100)).run_id
    refused = await too_large(client, "plain", DEFAULT_MAX_INPUT_BYTES + 1)
    assert f"limit of {DEFAULT_MAX_INPUT_BYTES} bytes (limits.max_input_bytes)" in refused.details()


async def test_a_workflow_lowers_or_raises_its_own_limit(client):
    assert (await start(client, "small", 1000)).run_id
    assert "limit of 2048 bytes" in (await too_large(client, "small", 3000)).details()
    assert (await start(client, "large", DEFAULT_MAX_INPUT_BYTES * 2)).run_id


async def test_the_gateway_caps_the_input_of_every_workflow(client):
    refused = await too_large(client, "large", GATEWAY_CAP + 1)
    assert "AIRSPACE_GATEWAY_MAX_INPUT_BYTES" in refused.details()


@pytest.mark.parametrize(
    ("limits", "field"),
    [
        ("limits: {max_input_bytes: 0}\n", "limits.max_input_bytes"),
        ("limits: {max_input_bytes: lots}\n", "limits.max_input_bytes"),
        ("limits: {max_output: 5}\n", "limits.max_output"),
        ("limits: 5\n", "limits"),
    ],
)
async def test_a_bad_limit_is_refused_naming_it(client, limits, field):
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await client.workflows.CreateWorkflow(
            workflow_pb2.CreateWorkflowRequest(source=workflow("odd", limits)),
            metadata=client.metadata,
        )
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in violations(failure.value)
