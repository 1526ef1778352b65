"""Only credited senders export spans, and a span joins a run's path only when its sender
is part of that run: spans injected into another tenant's run, or posing as another agent
of the run, stay out of GetRunTrace; exports without a valid credential are refused."""

from __future__ import annotations

import grpc
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.trace.v1 import trace_pb2 as otlp
from prometheus_client import REGISTRY
from span_senders import credential_headers

from airspace.mesh import telemetry_credentials
from airspace.trace.v1 import trace_pb2

pytestmark = pytest.mark.mesh
TRACE = bytes.fromhex("11" * 16)
RUN = "run-victim"
ROUTER = telemetry_credentials.service("airspace-router")


def span(span_id: int, name: str, parent: int = 0, start: int = 2_000, trace=TRACE, **attrs):
    return otlp.Span(
        trace_id=trace,
        span_id=span_id.to_bytes(8, "big"),
        parent_span_id=parent.to_bytes(8, "big") if parent else b"",
        name=name,
        start_time_unix_nano=start,
        end_time_unix_nano=start + 1_000,
        attributes=[
            common_pb2.KeyValue(key=key, value=common_pb2.AnyValue(string_value=value))
            for key, value in attrs.items()
        ],
    )


async def export(port: int, spans, headers: dict[str, str]):
    request = trace_service_pb2.ExportTraceServiceRequest(
        resource_spans=[otlp.ResourceSpans(scope_spans=[otlp.ScopeSpans(spans=spans)])]
    )
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        return await trace_service_pb2_grpc.TraceServiceStub(channel).Export(
            request, metadata=tuple(headers.items())
        )


def refused_count(reason: str) -> float:
    value = REGISTRY.get_sample_value("airspace_trace_exports_refused_total", {"reason": reason})
    return value or 0.0


async def test_exports_without_a_valid_credential_are_refused_and_counted(start_collector):
    collector = await start_collector()
    port = collector.server.port
    before = refused_count("missing"), refused_count("invalid")
    forged = telemetry_credentials.issue(b"a-guessed-key-" * 4, ROUTER)
    for headers in ({}, {"authorization": f"Bearer {forged}"}, {"authorization": "Bearer x"}):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await export(port, [span(1, "workflow", **{"airspace.run.id": RUN})], headers)
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert refused_count("missing") == before[0] + 1
    assert refused_count("invalid") == before[1] + 2


async def test_only_the_invoked_agent_of_the_runs_tenant_joins_the_runs_path(
    start_collector, queries
):
    collector = await start_collector()
    port = collector.server.port
    await export(
        port,
        [
            span(1, "invoke_workflow", **{"airspace.run.id": RUN, "airspace.tenant": "acme"}),
            span(2, "invoke_agent extractor", 1, **{"gen_ai.agent.name": "extractor"}),
        ],
        credential_headers(ROUTER),
    )
    extractor = credential_headers(telemetry_credentials.agent("acme", "extractor"))
    await export(port, [span(3, "extractor handles", 2), span(4, "tool", 3)], extractor)
    # Another tenant's agent, knowing the run's trace and span ids, claims a part in it.
    outsider = credential_headers(telemetry_credentials.agent("globex", "extractor"))
    await export(port, [span(5, "injected", 2, **{"airspace.run.id": RUN})], outsider)
    # Another agent of the same tenant poses as the extractor's child.
    impostor = credential_headers(telemetry_credentials.agent("acme", "summarizer"))
    await export(port, [span(6, "posing", 2), span(7, "posing deeper", 3)], impostor)
    # A span naming the run in a trace of its own, earlier than the run, to take it over.
    decoy = bytes.fromhex("22" * 16)
    await export(
        port, [span(8, "decoy", start=1, trace=decoy, **{"airspace.run.id": RUN})], outsider
    )

    found = await queries(port).GetRunTrace(trace_pb2.GetRunTraceRequest(run_id=RUN))
    assert found.trace_id == TRACE.hex()
    assert sorted(s.name for s in found.spans) == [
        "extractor handles",
        "invoke_agent extractor",
        "invoke_workflow",
        "tool",
    ]
