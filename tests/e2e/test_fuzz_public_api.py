"""Random and extreme requests to every public method, through the real gateway to a real mesh.

Each call must end in a status the caller can act on: never UNKNOWN or INTERNAL, never a
message that echoes unbounded input; afterwards every service still answers SERVING and a
normal run still completes. Seeded and bounded: AIRSPACE_FUZZ_CALLS raises the call count,
AIRSPACE_FUZZ_SEED replays a failure (the seed is in the failure's message).
"""

from __future__ import annotations

import collections
import os
import random
import time

import grpc
import pytest
from fuzz_messages import RequestMaker
from google.protobuf import descriptor_pool, struct_pb2
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from mesh_support import apply, collect_events, register
from test_public_api import ECHO, echo_agent

from airspace.gateway.main import ROUTED_TO_POLICY, ROUTED_TO_ROUTER
from airspace.mesh import errors
from airspace.mesh.reasons import Reason
from airspace.v1 import run_pb2

pytestmark = pytest.mark.mesh

CALLS = int(os.environ.get("AIRSPACE_FUZZ_CALLS", "300"))
SEED = int(os.environ.get("AIRSPACE_FUZZ_SEED", "0")) or random.randrange(1, 2**31)
# Longest status message a caller may get: ids and values in messages are cut short.
MAX_MESSAGE_CHARS = 1024
NEVER = {grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL}
# A call may also run out of time (an agent call, a stream that follows a run), but
# nothing else may keep it.
CALL_SECONDS = 5.0
# Names that exist in the mesh under test, so some calls get past "not found".
KNOWN_NAMES = ("echo", "echo-twice", "acme", "tenant", "workflow/echo-twice", "run/r1", "1")
STEADY = "name: steady\npattern: sequential\nsteps: [{name: only, agent: steady-echo}]"


def public_methods():
    pool = descriptor_pool.Default()
    for service_name in ROUTED_TO_ROUTER + ROUTED_TO_POLICY:
        yield from pool.FindServiceByName(service_name).methods


async def ending(channel: grpc.aio.Channel, method, request: bytes, metadata) -> tuple[str, str]:
    """How the call ended (its code's name) and what is wrong with that, or "" when nothing."""
    path = f"/{method.containing_service.full_name}/{method.name}"
    try:
        if method.server_streaming:
            stream = channel.unary_stream(path)(request, metadata=metadata, timeout=CALL_SECONDS)
            async for _ in stream:
                pass
        else:
            await channel.unary_unary(path)(request, metadata=metadata, timeout=CALL_SECONDS)
    except grpc.aio.AioRpcError as exc:
        return exc.code().name, refusal_problem(exc)
    return "OK", ""


def refusal_problem(error: grpc.aio.AioRpcError) -> str:
    code, details = error.code(), error.details() or ""
    if code in NEVER:
        return f"{code.name} {details[:200]!r}"
    if len(details) > MAX_MESSAGE_CHARS:
        return f"{code.name} with a message of {len(details)} characters"
    if from_the_transport(code, details):
        return ""
    rebuilt = errors.from_rpc_error(error)
    if not from_the_mesh(error):
        return f"{code.name} without the mesh's ErrorInfo: {details[:200]!r}"
    whole_request = rebuilt.reason == Reason.MALFORMED_REQUEST
    if code == grpc.StatusCode.INVALID_ARGUMENT and not rebuilt.violations and not whole_request:
        return f"INVALID_ARGUMENT naming no field: {details[:200]!r}"
    return ""


def from_the_mesh(error: grpc.aio.AioRpcError) -> bool:
    return any(
        isinstance(detail, error_details_pb2.ErrorInfo) and detail.domain == errors.ERROR_DOMAIN
        for detail in errors.status_details(error)
    )


def from_the_transport(code: grpc.StatusCode, details: str) -> bool:
    """Ends gRPC itself gives a call: out of time, or a message over the size limit."""
    return code == grpc.StatusCode.DEADLINE_EXCEEDED or (
        code == grpc.StatusCode.RESOURCE_EXHAUSTED and "Received message larger than max" in details
    )


async def test_no_input_gets_internal_or_stops_a_service(mesh):
    client = mesh.client(roles=("operator", "admin", "approver", "auditor"))
    await register(client, await mesh.serve_agent(echo_agent()))
    await apply(client, ECHO)
    # Names the requests never hold, so the run after the storm finds them as they were.
    await register(client, await mesh.serve_agent(echo_agent("steady-echo")))
    await apply(client, STEADY)
    maker = RequestMaker(SEED, known_names=KNOWN_NAMES)
    methods = list(public_methods())
    problems, codes = [], collections.Counter[str]()
    started = time.perf_counter()
    for number in range(CALLS):
        method = methods[number % len(methods)]
        request = maker.request(method)
        code, found = await ending(client.channel, method, request, client.metadata)
        codes[code] += 1
        if found:
            problems.append(f"call {number} {method.full_name}: {found}")
    elapsed = time.perf_counter() - started
    print(f"fuzz seed {SEED}: {CALLS} calls in {elapsed:.1f}s, codes {sorted(codes.items())}")

    not_serving = []
    for srv in mesh.servers:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{srv.port}") as channel:
            health = await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=CALL_SECONDS
            )
            if health.status != health_pb2.HealthCheckResponse.SERVING:
                not_serving.append(srv.name)
    text = struct_pb2.Struct()
    text.update({"text": "still here"})
    events = await collect_events(
        client.runs.ExecuteRun(
            run_pb2.ExecuteRunRequest(workflow="steady", input=text),
            metadata=client.metadata,
            timeout=30,
        )
    )
    replay = f"fuzz seed {SEED} (AIRSPACE_FUZZ_SEED={SEED} replays it)"
    assert not not_serving, f"{replay}: not serving after the calls: {not_serving}"
    assert not problems, f"{replay}:\n" + "\n".join(problems)
    assert events[-1].run_state_changed.to == run_pb2.RUN_STATE_COMPLETED
