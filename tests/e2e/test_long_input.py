"""One long input must not freeze an agent: a contract review of about a mebibyte of "A"
(as much as the gateway lets through, in a workflow that raised its own input limit to it)
runs while another review of a real contract runs at the same time, and both end on their
own terms (the durations are printed, never asserted)."""

from __future__ import annotations

import asyncio
import pathlib
import time

import grpc
import pytest
from google.protobuf import struct_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from mesh_support import apply, collect_events, register

from airspace.agents.samples import compliance_checker, contract_extractor, summary_writer
from airspace.v1 import run_pb2

pytestmark = [pytest.mark.mesh, pytest.mark.timeout(120)]

ROOT = pathlib.Path(__file__).resolve().parents[2]
CONTRACT = (ROOT / "workflows" / "inputs" / "msa.txt").read_text()
# The sample workflow, with its input limit raised to the gateway's (1 MiB by default).
WORKFLOW = (ROOT / "workflows" / "contract-review.yaml").read_text() + (
    "\nlimits: {max_input_bytes: 1048576}\n"
)
# Short of the gateway's cap by the request's own framing.
LONG_TEXT = "A" * ((1 << 20) - 1024)


async def test_a_mebibyte_of_a_neither_freezes_the_extractor_nor_fails_another_run(mesh):
    client = mesh.client()
    extractor = await mesh.serve_agent(contract_extractor.agent)
    for endpoint in (
        extractor,
        await mesh.serve_agent(compliance_checker.agent),
        await mesh.serve_agent(summary_writer.agent),
    ):
        await register(client, endpoint)
    await apply(client, WORKFLOW)

    async def review(text: str, request_id: str) -> tuple[list[run_pb2.RunEvent], float]:
        began = time.perf_counter()
        request = run_pb2.ExecuteRunRequest(
            workflow="contract-review", input=_input(text), request_id=request_id
        )
        events = await collect_events(client.runs.ExecuteRun(request, metadata=client.metadata))
        return events, time.perf_counter() - began

    long_run = asyncio.create_task(review(LONG_TEXT, "long"))
    await asyncio.sleep(0.2)  # the long input is at the extractor by now
    (normal, normal_took), health = await asyncio.gather(
        review(CONTRACT, "normal"), _health(extractor)
    )
    long, long_took = await long_run
    print(
        f"normal review {normal_took:.2f} s beside a 1 MiB one of {long_took:.2f} s, "
        f"which ended {run_pb2.RunState.Name(_end(long))}"
    )

    assert health == health_pb2.HealthCheckResponse.SERVING
    assert _end(normal) == run_pb2.RUN_STATE_COMPLETED
    # The long one ends on its merits (nothing to find in it), never by a timeout.
    assert _end(long) in (run_pb2.RUN_STATE_COMPLETED, run_pb2.RUN_STATE_FAILED)
    failures = [e.step_failed.error.message for e in long if e.HasField("step_failed")]
    assert not any("AGENT_TIMEOUT" in failure for failure in failures), failures
    extracted = next(e for e in long if e.HasField("step_completed"))
    assert extracted.agent == "contract-extractor"


async def _health(endpoint: str) -> int:
    async with grpc.aio.insecure_channel(endpoint) as channel:
        response = await health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(), timeout=5
        )
    return response.status


def _input(text: str) -> struct_pb2.Struct:
    value = struct_pb2.Struct()
    value.update({"text": text})
    return value


def _end(events: list[run_pb2.RunEvent]) -> int:
    return [e.run_state_changed.to for e in events if e.HasField("run_state_changed")][-1]
