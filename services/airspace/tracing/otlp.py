"""Flattens OTLP ExportTraceServiceRequests into span records, rejecting malformed spans."""

from __future__ import annotations

import base64
import dataclasses
import math
from collections.abc import Iterable
from typing import Any

from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

from airspace.tracing.store import SpanEvent, SpanRecord

SERVICE_NAME_ATTRIBUTE = "service.name"
TRACE_ID_BYTES = 16
SPAN_ID_BYTES = 8
# SQLite integers are signed 64-bit; OTLP times are fixed64.
MAX_UNIX_NANO = 2**63 - 1
# Enough reasons in a partial-success message to diagnose, short enough to log.
MAX_REPORTED_ERRORS = 3

_KIND_NAMES = {number: name for name, number in trace_pb2.Span.SpanKind.items()}
_STATUS_NAMES = {
    trace_pb2.Status.STATUS_CODE_UNSET: "UNSET",
    trace_pb2.Status.STATUS_CODE_OK: "OK",
    trace_pb2.Status.STATUS_CODE_ERROR: "ERROR",
}


@dataclasses.dataclass
class Flattened:
    spans: list[SpanRecord]
    rejected: int
    errors: list[str]

    @property
    def error_message(self) -> str:
        if not self.rejected:
            return ""
        shown = "; ".join(self.errors[:MAX_REPORTED_ERRORS])
        more = len(self.errors) - MAX_REPORTED_ERRORS
        return f"{self.rejected} spans rejected: {shown}" + (
            f"; and {more} more" if more > 0 else ""
        )


def flatten(request: trace_service_pb2.ExportTraceServiceRequest, sender: str = "") -> Flattened:
    """The request's spans as records from `sender`, and the malformed ones rejected."""
    result = Flattened(spans=[], rejected=0, errors=[])
    for resource_spans in request.resource_spans:
        service = attributes(resource_spans.resource.attributes).get(SERVICE_NAME_ATTRIBUTE)
        service = "" if service is None else str(service)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                problem = _problem(span)
                if problem:
                    result.rejected += 1
                    result.errors.append(f"span {span.name!r}: {problem}")
                else:
                    result.spans.append(_record(span, service, sender))
    return result


def attributes(pairs: Iterable[common_pb2.KeyValue]) -> dict[str, Any]:
    return {pair.key: any_value(pair.value) for pair in pairs}


def any_value(value: common_pb2.AnyValue) -> Any:
    """An AnyValue as a JSON value; bytes become base64 as in OTLP/JSON."""
    match value.WhichOneof("value"):
        case "string_value":
            return value.string_value
        case "bool_value":
            return value.bool_value
        case "int_value":
            return value.int_value
        case "double_value":
            number = value.double_value
            # JSON has no NaN or infinities; keep them readable rather than lose them.
            return number if math.isfinite(number) else str(number)
        case "array_value":
            return [any_value(item) for item in value.array_value.values]
        case "kvlist_value":
            return attributes(value.kvlist_value.values)
        case "bytes_value":
            return base64.b64encode(value.bytes_value).decode("ascii")
        case _:
            return None


def _problem(span: trace_pb2.Span) -> str:
    if len(span.trace_id) != TRACE_ID_BYTES or not any(span.trace_id):
        return f"trace_id must be {TRACE_ID_BYTES} bytes, not all zero"
    if len(span.span_id) != SPAN_ID_BYTES or not any(span.span_id):
        return f"span_id must be {SPAN_ID_BYTES} bytes, not all zero"
    if span.parent_span_id and len(span.parent_span_id) != SPAN_ID_BYTES:
        return f"parent_span_id must be empty or {SPAN_ID_BYTES} bytes"
    times = [span.start_time_unix_nano, span.end_time_unix_nano]
    times.extend(event.time_unix_nano for event in span.events)
    if max(times) > MAX_UNIX_NANO:
        return "a start, end or event time is out of range"
    return ""


def _record(span: trace_pb2.Span, service: str, sender: str) -> SpanRecord:
    return SpanRecord(
        sender=sender,
        trace_id=span.trace_id.hex(),
        span_id=span.span_id.hex(),
        parent_span_id=span.parent_span_id.hex() if any(span.parent_span_id) else "",
        name=span.name,
        service=service,
        kind=_KIND_NAMES.get(span.kind, "SPAN_KIND_UNSPECIFIED"),
        start_unix_nano=span.start_time_unix_nano,
        end_unix_nano=span.end_time_unix_nano,
        status_code=_STATUS_NAMES.get(span.status.code, "UNSET"),
        status_message=span.status.message,
        attributes=attributes(span.attributes),
        events=tuple(
            SpanEvent(
                name=event.name,
                time_unix_nano=event.time_unix_nano,
                attributes=attributes(event.attributes),
            )
            for event in span.events
        ),
    )
