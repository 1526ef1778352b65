"""Shared memory through the public API of the process mesh: compare-and-set races have
exactly one winner per version, and agents reach only the namespaces they take part in."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from google.protobuf import struct_pb2
from process_mesh import (
    WORKFLOW,
    Client,
    gateway_client,
    prepare_workflow,
    start_runs,
    wait_for_the_end,
)

from airspace.gateway.api_keys import ApiKeyStore
from airspace.mesh import errors
from airspace.v1 import memory_pb2

pytestmark = [pytest.mark.process, pytest.mark.timeout(60)]


def number(value: float) -> struct_pb2.Value:
    return struct_pb2.Value(number_value=value)


async def put(client: Client, namespace: str, key: str, value, expected=None):
    return await client.memory.PutMemoryEntry(
        memory_pb2.PutMemoryEntryRequest(
            namespace=namespace, key=key, value=value, expected_version=expected
        ),
        metadata=client.metadata,
        timeout=30,
    )


async def get(client: Client, namespace: str, key: str) -> memory_pb2.MemoryEntry:
    response = await client.memory.GetMemoryEntry(
        memory_pb2.GetMemoryEntryRequest(namespace=namespace, key=key),
        metadata=client.metadata,
        timeout=30,
    )
    return response.entry


def client_as(mesh, principal: str, tenant="default", roles=("agent",), kind="agent") -> Client:
    key = ApiKeyStore(mesh.home / "api_keys.json").create(principal, tenant, roles, kind)
    return gateway_client(mesh, key)


async def refusal(call) -> errors.MeshError:
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await call
    return errors.from_rpc_error(failure.value)


@pytest.fixture
async def run_namespace(mesh):
    """The memory namespace of a finished run of the counter agent."""
    client = gateway_client(mesh)
    await prepare_workflow(client, mesh.agent.address)
    (run_id,) = await start_runs(client, 1, f"memory-{id(client)}")
    await wait_for_the_end(client, [run_id])
    await client.channel.close()
    return f"run/{run_id}"


async def test_compare_and_set_races_have_one_winner_per_version(mesh, run_namespace):
    counter = client_as(mesh, "agent:counter")
    try:
        version = (await put(counter, run_namespace, "race", number(0), expected=0)).entry.version
        for round_no in range(5):
            outcomes = await asyncio.gather(
                *(
                    put(counter, run_namespace, "race", number(round_no * 10 + writer), version)
                    for writer in range(8)
                ),
                return_exceptions=True,
            )
            winners = [o for o in outcomes if not isinstance(o, Exception)]
            assert len(winners) == 1 and winners[0].entry.version == version + 1
            for lost in (o for o in outcomes if isinstance(o, Exception)):
                assert lost.code() == grpc.StatusCode.ABORTED
                assert errors.from_rpc_error(lost).reason == "VERSION_MISMATCH"
            version += 1
            assert (await get(counter, run_namespace, "race")).value == winners[0].entry.value

        async def increment(times: int) -> None:
            for _ in range(times):
                while True:
                    entry = await get(counter, run_namespace, "race")
                    try:
                        await put(
                            counter,
                            run_namespace,
                            "race",
                            number(entry.value.number_value + 1),
                            entry.version,
                        )
                        break
                    except grpc.aio.AioRpcError as lost:
                        assert lost.code() == grpc.StatusCode.ABORTED

        start = (await get(counter, run_namespace, "race")).value.number_value
        await asyncio.gather(*(increment(5) for _ in range(6)))
        final = await get(counter, run_namespace, "race")
        assert final.value.number_value == start + 30 and final.version == version + 30
    finally:
        await counter.channel.close()


async def test_agents_reach_only_namespaces_they_take_part_in(mesh, run_namespace):
    admin = gateway_client(mesh)
    counter, stranger = client_as(mesh, "agent:counter"), client_as(mesh, "agent:stranger")
    outsider = client_as(mesh, "user:oscar", tenant="other", roles=("operator",), kind="user")
    try:
        await put(counter, f"workflow/{WORKFLOW}", "notes", struct_pb2.Value(string_value="hi"))
        await put(admin, "tenant", "motto", struct_pb2.Value(string_value="be kind"))
        assert (await get(counter, "tenant", "motto")).value.string_value == "be kind"

        denied = [
            put(stranger, run_namespace, "k", number(1)),
            get(stranger, f"workflow/{WORKFLOW}", "notes"),
            put(counter, "tenant", "motto", number(1)),
        ]
        for call in denied:
            refused = await refusal(call)
            assert (refused.code, refused.reason) == (
                grpc.StatusCode.PERMISSION_DENIED,
                "MEMORY_SCOPE",
            )
        # Another tenant's run does not exist for the caller.
        assert (await refusal(get(outsider, run_namespace, "race"))).code == (
            grpc.StatusCode.NOT_FOUND
        )
        bad = await refusal(get(admin, "runs/x", "k"))
        assert bad.code == grpc.StatusCode.INVALID_ARGUMENT
        assert bad.violations[0][0] == "namespace"
    finally:
        for client in (admin, counter, stranger, outsider):
            await client.channel.close()
