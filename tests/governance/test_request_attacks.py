"""Hostile requests at the gateway: oversized and deeply nested payloads, bytes that are no
request at all, and tenant or identity headers a client smuggles in (the refusal itself is
tested in tests/e2e/test_public_api.py; here: where such a run really lands)."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import struct_pb2
from governance_support import deploy, error_reason
from mesh_support import violations

from airspace.agents.kit import Agent, Reply
from airspace.mesh import errors, identity, json_values
from airspace.router import validation
from airspace.v1 import run_pb2

pytestmark = pytest.mark.mesh

ECHO = "name: echo\npattern: sequential\nsteps: [{name: only, agent: echo}]"


def echo() -> Agent:
    agent = Agent(name="echo", version="1.0.0", description="echoes")

    @agent.handler
    async def answer(task):
        return Reply(text=task.text)

    return agent


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field, written by hand: a Python client refuses to
    build a message nested this deep, an attacker's client does not."""
    key, length = _varint(number << 3 | 2), _varint(len(payload))
    return key + length + payload


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        out.append(low | (0x80 if value else 0))
        if not value:
            return bytes(out)


def nested_start_request(depth: int) -> bytes:
    """StartRunRequest{workflow: "echo", input: {"n": {"n": ... {"leaf": "x"}}}}."""
    leaf = struct_pb2.Struct()
    leaf.update({"leaf": "x"})
    struct = leaf.SerializeToString()
    for _ in range(depth):
        value = _field(5, struct)  # Value.struct_value
        struct = _field(1, _field(1, b"n") + _field(2, value))  # Struct.fields entry
    return _field(1, b"echo") + _field(3, struct)


@pytest.fixture
async def echoing(mesh):
    client = mesh.client()
    await deploy(mesh, client, ECHO, echo())
    return client


@pytest.mark.parametrize("depth", [40, 5000])
async def test_a_deeply_nested_payload_is_a_clear_invalid_argument(echoing, depth):
    start_run = echoing.channel.unary_unary("/airspace.v1.RunService/StartRun")
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await start_run(nested_start_request(depth), metadata=echoing.metadata)
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert failure.value.details() == (
        "the request is not a valid airspace.v1.StartRunRequest: "
        "it nests deeper than protobuf allows"
    )
    assert error_reason(failure.value) == "MALFORMED_REQUEST"
    # The gateway and the router are still there.
    ok = await start_run(nested_start_request(10), metadata=echoing.metadata)
    assert run_pb2.StartRunResponse.FromString(ok).run.run_id


async def test_bytes_that_are_no_request_are_refused_not_crashed_on(echoing):
    start_run = echoing.channel.unary_unary("/airspace.v1.RunService/StartRun")
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await start_run(b"\x0a\xff\xff\xff\xff\x0f garbage", metadata=echoing.metadata)
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "it is malformed" in failure.value.details()


async def test_an_oversized_payload_is_resource_exhausted(mesh, echoing):
    limit = mesh.router_settings.max_message_bytes
    request = run_pb2.StartRunRequest(workflow="echo")
    request.input.update({"text": "x" * (limit + 1024)})
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await echoing.runs.StartRun(request, metadata=echoing.metadata)
    assert failure.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "larger than max" in failure.value.details()


async def test_a_smuggled_tenant_header_does_not_move_a_run_to_another_tenant(mesh, echoing):
    globex_admin = identity.sign(identity.Identity("user:eve", "globex", ("admin",)), mesh.key)
    smuggled = (
        *echoing.metadata,
        (identity.METADATA_KEY, globex_admin),
        ("x-airspace-tenant", "globex"),
        ("x-airspace-principal", "user:eve"),
    )
    run = (
        await echoing.runs.StartRun(run_pb2.StartRunRequest(workflow="echo"), metadata=smuggled)
    ).run
    assert (run.tenant, run.created_by) == ("acme", "user:olivia")
    globex = mesh.client("user:gus", "globex", ("admin",))
    listed = await globex.runs.ListRuns(run_pb2.ListRunsRequest(), metadata=globex.metadata)
    assert list(listed.runs) == []
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await globex.runs.GetRun(run_pb2.GetRunRequest(run_id=run.run_id), metadata=globex.metadata)
    assert failure.value.code() == grpc.StatusCode.NOT_FOUND


def test_run_input_nested_deeper_than_the_mesh_can_carry_is_refused_naming_the_field():
    too_deep, deepest = struct_pb2.Struct(), struct_pb2.Struct()
    too_deep.update(nested(validation.MAX_INPUT_DEPTH + 1))
    deepest.update(nested(validation.MAX_INPUT_DEPTH))
    with pytest.raises(errors.InvalidArgument) as refused:
        json_values.struct_dict(too_deep, "input", validation.MAX_INPUT_DEPTH)
    [(field, problem)] = refused.value.violations
    assert field == "input" and problem.startswith("input is nested more than 24 levels deep")
    assert json_values.struct_dict(deepest, "input", validation.MAX_INPUT_DEPTH) == nested(24)


async def test_a_run_input_too_deep_for_the_mesh_is_refused_at_start(echoing):
    start_run = echoing.channel.unary_unary("/airspace.v1.RunService/StartRun")
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await start_run(nested_start_request(30), metadata=echoing.metadata)
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "input" in violations(failure.value)


def nested(depth: int) -> dict:
    value: dict = {"leaf": "x"}
    for _ in range(depth - 1):
        value = {"n": value}
    return value
