"""The collector end to end: a stock OpenTelemetry SDK exports, mesh services query."""

import grpc
import pytest
from google.protobuf import json_format, timestamp_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.trace.v1 import trace_pb2 as otlp_trace_pb2
from opentelemetry.trace import SpanKind, Status, StatusCode
from span_senders import credential_headers

from airspace.mesh import identity, telemetry_credentials
from airspace.trace.v1 import trace_pb2, trace_pb2_grpc

pytestmark = pytest.mark.mesh


def record_run(tracer):
    """A workflow span naming the run, an agent call under it and a tool call under that."""
    with (
        tracer.start_as_current_span(
            "workflow contracts",
            attributes={"airspace.run.id": "run-1", "airspace.workflow.name": "contracts"},
        ),
        tracer.start_as_current_span(
            "invoke_agent extractor",
            kind=SpanKind.CLIENT,
            attributes={"gen_ai.agent.name": "extractor", "attempt": 2, "tags": ["a", "b"]},
        ) as agent,
    ):
        agent.add_event("retry", {"reason": "timeout"})
        with tracer.start_as_current_span("tool lookup"):
            pass
        agent.set_status(Status(StatusCode.ERROR, "agent failed"))


def violations(error: grpc.aio.AioRpcError) -> list[str]:
    fields = []
    for detail in rpc_status.from_call(error).details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            fields += [violation.field for violation in bad.field_violations]
    return fields


@pytest.fixture
async def running(start_collector, export):
    collector = await start_collector()
    await export(collector.server.port, record_run)
    return collector


async def test_sdk_export_is_queryable_by_trace_with_parent_links(running, queries):
    stub = queries(running.server.port)
    [root] = (await stub.SearchSpans(trace_pb2.SearchSpansRequest(name_prefix="workflow"))).spans

    spans = (await stub.GetTrace(trace_pb2.GetTraceRequest(trace_id=root.trace_id))).spans

    by_name = {span.name: span for span in spans}
    assert [span.name for span in spans] == [
        "workflow contracts",
        "invoke_agent extractor",
        "tool lookup",
    ]
    agent, tool = by_name["invoke_agent extractor"], by_name["tool lookup"]
    assert root.parent_span_id == ""
    assert agent.parent_span_id == root.span_id
    assert tool.parent_span_id == agent.span_id
    assert {span.service for span in spans} == {"router"}
    assert (agent.kind, agent.status_code, agent.status_message) == (
        "SPAN_KIND_CLIENT",
        "ERROR",
        "agent failed",
    )
    assert json_format.MessageToDict(agent.attributes) == {
        "gen_ai.agent.name": "extractor",
        "attempt": 2,
        "tags": ["a", "b"],
    }
    assert [(e.name, dict(e.attributes)) for e in agent.events] == [
        ("retry", {"reason": "timeout"})
    ]
    assert agent.end_time.ToNanoseconds() >= agent.start_time.ToNanoseconds()


async def test_run_trace_includes_spans_without_the_run_attribute(running, queries):
    stub = queries(running.server.port)

    found = await stub.GetRunTrace(trace_pb2.GetRunTraceRequest(run_id="run-1"))

    assert len(found.trace_id) == 32
    assert [span.name for span in found.spans] == [
        "workflow contracts",
        "invoke_agent extractor",
        "tool lookup",
    ]
    assert {span.trace_id for span in found.spans} == {found.trace_id}


async def test_unknown_run_and_trace_are_not_found(running, queries):
    stub = queries(running.server.port)

    with pytest.raises(grpc.aio.AioRpcError) as run:
        await stub.GetRunTrace(trace_pb2.GetRunTraceRequest(run_id="run-404"))
    with pytest.raises(grpc.aio.AioRpcError) as trace:
        await stub.GetTrace(trace_pb2.GetTraceRequest(trace_id="f" * 32))

    assert run.value.code() == grpc.StatusCode.NOT_FOUND
    assert trace.value.code() == grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize("trace_id", ["", "abc", "g" * 32, "a" * 33])
async def test_bad_trace_id_is_invalid_argument_naming_the_field(running, queries, trace_id):
    stub = queries(running.server.port)

    with pytest.raises(grpc.aio.AioRpcError) as failed:
        await stub.GetTrace(trace_pb2.GetTraceRequest(trace_id=trace_id))

    assert failed.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violations(failed.value) == ["trace_id"]


async def test_search_filters_and_pages(running, queries):
    stub = queries(running.server.port)

    async def names(**filters):
        response = await stub.SearchSpans(trace_pb2.SearchSpansRequest(**filters))
        return [span.name for span in response.spans]

    assert await names(agent="extractor") == ["invoke_agent extractor"]
    assert await names(workflow="contracts", run_id="run-1") == ["workflow contracts"]
    assert await names(status_code="ERROR", service="router") == ["invoke_agent extractor"]
    assert await names(service="gateway") == []
    year_9999 = timestamp_pb2.Timestamp(seconds=253402300799)
    assert await names(start_after=year_9999) == []
    assert len(await names(start_before=year_9999)) == 3

    pages, token = [], ""
    while True:
        page = await stub.SearchSpans(trace_pb2.SearchSpansRequest(page_size=2, page_token=token))
        pages.append([span.name for span in page.spans])
        if not (token := page.next_page_token):
            break
    assert pages == [["tool lookup", "invoke_agent extractor"], ["workflow contracts"]]


async def test_search_rejects_bad_status_page_size_and_foreign_tokens(running, queries):
    stub = queries(running.server.port)
    first = await stub.SearchSpans(trace_pb2.SearchSpansRequest(page_size=1))
    bad_requests = {
        "status_code": trace_pb2.SearchSpansRequest(status_code="FAILED"),
        "page_size": trace_pb2.SearchSpansRequest(page_size=-1),
        "page_token": trace_pb2.SearchSpansRequest(page_token="not-a-token"),
        "start_after": trace_pb2.SearchSpansRequest(
            start_after=timestamp_pb2.Timestamp(seconds=2**40)
        ),
    }
    foreign = trace_pb2.SearchSpansRequest(service="router", page_token=first.next_page_token)

    for field, request in [*bad_requests.items(), ("page_token", foreign)]:
        with pytest.raises(grpc.aio.AioRpcError) as failed:
            await stub.SearchSpans(request)
        assert failed.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert violations(failed.value) == [field]


async def test_queries_need_a_mesh_identity(running, open_channels):
    port = running.server.port
    user = identity.Identity(principal="user:ann", tenant="acme", kind="user")
    as_user = trace_pb2_grpc.TraceQueryServiceStub(open_channels(port, user))

    with pytest.raises(grpc.aio.AioRpcError) as denied:
        await as_user.GetRunTrace(trace_pb2.GetRunTraceRequest(run_id="run-1"))
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        anonymous = trace_pb2_grpc.TraceQueryServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as unauthenticated:
            await anonymous.GetRunTrace(trace_pb2.GetRunTraceRequest(run_id="run-1"))

    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert unauthenticated.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_export_reports_rejected_spans_as_partial_success(start_collector, queries):
    collector = await start_collector()
    good = otlp_trace_pb2.Span(trace_id=b"\x01" * 16, span_id=b"\x02" * 8, name="good")
    bad = otlp_trace_pb2.Span(trace_id=b"\x01" * 4, span_id=b"\x03" * 8, name="bad")
    request = trace_service_pb2.ExportTraceServiceRequest(
        resource_spans=[
            otlp_trace_pb2.ResourceSpans(scope_spans=[otlp_trace_pb2.ScopeSpans(spans=[good, bad])])
        ]
    )

    async with grpc.aio.insecure_channel(f"127.0.0.1:{collector.server.port}") as channel:
        response = await trace_service_pb2_grpc.TraceServiceStub(channel).Export(
            request,
            metadata=tuple(credential_headers(telemetry_credentials.service("router")).items()),
        )

    assert response.partial_success.rejected_spans == 1
    assert "trace_id" in response.partial_success.error_message
    stored = await queries(collector.server.port).GetTrace(
        trace_pb2.GetTraceRequest(trace_id="01" * 16)
    )
    assert [span.name for span in stored.spans] == ["good"]


async def test_retention_keeps_the_newest_spans(start_collector, export, queries):
    collector = await start_collector(max_spans=3)

    def five_spans(tracer):
        for n in range(1, 6):
            tracer.start_span(f"span-{n}", start_time=n * 1_000_000).end(end_time=n * 1_000_001)

    await export(collector.server.port, five_spans)

    found = await queries(collector.server.port).SearchSpans(trace_pb2.SearchSpansRequest())
    assert [span.name for span in found.spans] == ["span-5", "span-4", "span-3"]
