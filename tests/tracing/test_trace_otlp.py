"""OTLP export requests flatten into span records; malformed spans are rejected, not stored."""

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue, KeyValueList
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

from airspace.tracing import otlp

pytestmark = pytest.mark.unit

TRACE_ID = bytes.fromhex("0af7651916cd43dd8448eb211c80319c")
SPAN_ID = bytes.fromhex("b7ad6b7169203331")
PARENT_ID = bytes.fromhex("00f067aa0ba902b7")


def kv(key: str, value: AnyValue) -> KeyValue:
    return KeyValue(key=key, value=value)


def request(*spans: Span, service: str = "router") -> ExportTraceServiceRequest:
    resource = Resource(attributes=[kv("service.name", AnyValue(string_value=service))])
    return ExportTraceServiceRequest(
        resource_spans=[ResourceSpans(resource=resource, scope_spans=[ScopeSpans(spans=spans)])]
    )


def test_span_fields_become_hex_ids_names_and_times():
    span = Span(
        trace_id=TRACE_ID,
        span_id=SPAN_ID,
        parent_span_id=PARENT_ID,
        name="invoke_agent extractor",
        kind=Span.SPAN_KIND_CLIENT,
        start_time_unix_nano=1_700_000_000_000_000_000,
        end_time_unix_nano=1_700_000_000_500_000_000,
        status=Status(code=Status.STATUS_CODE_ERROR, message="agent failed"),
        events=[
            Span.Event(
                name="retry",
                time_unix_nano=1_700_000_000_100_000_000,
                attributes=[kv("attempt", AnyValue(int_value=2))],
            )
        ],
    )

    flat = otlp.flatten(request(span))

    assert flat.rejected == 0 and flat.error_message == ""
    [record] = flat.spans
    assert record.trace_id == TRACE_ID.hex()
    assert record.span_id == SPAN_ID.hex()
    assert record.parent_span_id == PARENT_ID.hex()
    assert record.service == "router"
    assert record.kind == "SPAN_KIND_CLIENT"
    assert (record.status_code, record.status_message) == ("ERROR", "agent failed")
    assert record.end_unix_nano - record.start_unix_nano == 500_000_000
    [event] = record.events
    assert (event.name, event.attributes) == ("retry", {"attempt": 2})


def test_any_values_become_json_values():
    nested = KeyValueList(values=[kv("k", AnyValue(bool_value=True))])
    span = Span(
        trace_id=TRACE_ID,
        span_id=SPAN_ID,
        name="s",
        attributes=[
            kv("s", AnyValue(string_value="text")),
            kv("i", AnyValue(int_value=-(2**62))),
            kv("d", AnyValue(double_value=0.25)),
            kv("nan", AnyValue(double_value=float("nan"))),
            kv("a", AnyValue(array_value=ArrayValue(values=[AnyValue(int_value=1), AnyValue()]))),
            kv("m", AnyValue(kvlist_value=nested)),
            kv("b", AnyValue(bytes_value=b"\x00\xff")),
            kv("empty", AnyValue()),
        ],
    )

    [record] = otlp.flatten(request(span)).spans

    assert record.attributes == {
        "s": "text",
        "i": -(2**62),
        "d": 0.25,
        "nan": "nan",
        "a": [1, None],
        "m": {"k": True},
        "b": "AP8=",
        "empty": None,
    }
    assert record.parent_span_id == ""
    assert (record.kind, record.status_code) == ("SPAN_KIND_UNSPECIFIED", "UNSET")


def test_run_workflow_and_agent_attributes_are_lifted():
    span = Span(
        trace_id=TRACE_ID,
        span_id=SPAN_ID,
        name="step",
        attributes=[
            kv("airspace.run.id", AnyValue(string_value="run-1")),
            kv("airspace.workflow.name", AnyValue(string_value="contracts")),
            kv("gen_ai.agent.name", AnyValue(string_value="extractor")),
        ],
    )

    [record] = otlp.flatten(request(span)).spans

    assert (record.run_id, record.workflow, record.agent) == ("run-1", "contracts", "extractor")


def test_malformed_spans_are_rejected_with_reasons():
    good = Span(trace_id=TRACE_ID, span_id=SPAN_ID, name="good")
    bad = [
        Span(trace_id=b"\x01" * 8, span_id=SPAN_ID, name="short-trace"),
        Span(trace_id=bytes(16), span_id=SPAN_ID, name="zero-trace"),
        Span(trace_id=TRACE_ID, span_id=b"", name="no-span-id"),
        Span(trace_id=TRACE_ID, span_id=SPAN_ID, parent_span_id=b"\x01", name="bad-parent"),
        Span(trace_id=TRACE_ID, span_id=SPAN_ID, start_time_unix_nano=2**64 - 1, name="far"),
    ]

    flat = otlp.flatten(request(good, *bad))

    assert [span.name for span in flat.spans] == ["good"]
    assert flat.rejected == 5
    assert flat.error_message.startswith("5 spans rejected: span 'short-trace': trace_id")
    assert flat.error_message.endswith("and 2 more")


def test_missing_service_name_is_empty():
    bare = ExportTraceServiceRequest(
        resource_spans=[
            ResourceSpans(
                scope_spans=[ScopeSpans(spans=[Span(trace_id=TRACE_ID, span_id=SPAN_ID)])]
            )
        ]
    )

    [record] = otlp.flatten(bare).spans

    assert record.service == ""
