"""Tenant quotas through the real gateway and router: a tenant over its rate, or at its
quota of active runs, is refused with RESOURCE_EXHAUSTED, RetryInfo and QuotaFailure,
while another tenant's calls go through."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from mesh_support import Mesh, apply, register
from pattern_agents import answering

from airspace.mesh import errors
from airspace.v1 import run_pb2

pytestmark = pytest.mark.mesh
QUOTAS = """
default: {requests_per_second: 0}
tenants:
  flooder: {requests_per_second: 0.5, burst: 3}
  busy: {concurrent_runs: 1}
"""
WORKFLOW = "name: slow\npattern: sequential\nsteps: [{name: wait, agent: sleeper}]"


@pytest.fixture
async def quota_mesh(tmp_path):
    quotas_file = tmp_path / "quotas.yaml"
    quotas_file.write_text(QUOTAS)
    mesh = Mesh(tmp_path, quotas_file=str(quotas_file))
    await mesh.start()
    yield mesh
    await mesh.stop()


def details(error: grpc.aio.AioRpcError) -> dict[str, object]:
    found = {}
    for detail in errors.status_details(error):
        found[type(detail).__name__] = detail
    return found


async def list_runs(client):
    return await client.runs.ListRuns(run_pb2.ListRunsRequest(), metadata=client.metadata)


async def test_a_tenant_over_its_rate_is_refused_with_retry_info_and_others_are_not(quota_mesh):
    flooder = quota_mesh.client(tenant="flooder")
    other = quota_mesh.client(tenant="calm")
    for _ in range(3):  # the burst
        await list_runs(flooder)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await list_runs(flooder)
    assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    found = details(refused.value)
    assert found["ErrorInfo"].reason == "RATE_LIMITED"
    # A token every 2 s: slow enough that a loaded machine does not refill the bucket
    # between the burst and the call past it.
    assert 0 < found["RetryInfo"].retry_delay.ToTimedelta().total_seconds() <= 2
    assert found["QuotaFailure"].violations[0].subject == "tenant:flooder"
    for _ in range(10):
        await list_runs(other)
    await asyncio.sleep(found["RetryInfo"].retry_delay.ToTimedelta().total_seconds())
    await list_runs(flooder)  # the bucket refilled


async def test_a_tenant_at_its_quota_of_runs_is_refused_until_one_ends(quota_mesh):
    busy = quota_mesh.client(tenant="busy")
    other = quota_mesh.client(tenant="other")
    endpoint = await quota_mesh.serve_agent(answering("sleeper", "done", delay=1.0))
    for client in (busy, other):
        await register(client, endpoint)
        await apply(client, WORKFLOW)
    start = run_pb2.StartRunRequest(workflow="slow")
    first = await busy.runs.StartRun(start, metadata=busy.metadata)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await busy.runs.StartRun(start, metadata=busy.metadata)
    assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    found = details(refused.value)
    assert found["ErrorInfo"].reason == "RUN_QUOTA_EXCEEDED"
    assert found["QuotaFailure"].violations[0].subject == "tenant:busy"
    assert "RetryInfo" in found
    listed = await busy.runs.ListRuns(run_pb2.ListRunsRequest(), metadata=busy.metadata)
    assert [run.run_id for run in listed.runs] == [first.run.run_id]  # nothing half-created
    for _ in range(3):  # the other tenant is not held back
        await other.runs.StartRun(start, metadata=other.metadata)
    events = busy.runs.WatchRun(
        run_pb2.WatchRunRequest(run_id=first.run.run_id), metadata=busy.metadata
    )
    async for _ in events:
        pass
    # Its place is free again once the router has let go of the run (a moment after its end).
    for _ in range(100):
        try:
            await busy.runs.StartRun(start, metadata=busy.metadata)
            break
        except grpc.aio.AioRpcError as error:
            assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            await asyncio.sleep(0.05)
    else:
        raise AssertionError("the quota never freed up after the run ended")
