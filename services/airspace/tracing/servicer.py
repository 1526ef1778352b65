"""airspace.trace.v1.TraceQueryService: translates between protos and TraceQueries."""

from __future__ import annotations

from google.protobuf import struct_pb2, timestamp_pb2

from airspace.mesh import errors, identity
from airspace.trace.v1 import trace_pb2, trace_pb2_grpc
from airspace.tracing.queries import TraceQueries
from airspace.tracing.store import SpanFilter, SpanRecord


class TraceQueryServicer(trace_pb2_grpc.TraceQueryServiceServicer):
    """Internal: only mesh services may read traces (clients go through the gateway)."""

    def __init__(self, queries: TraceQueries):
        self._queries = queries

    async def GetTrace(self, request, context):
        identity.require_mesh()
        spans = await self._queries.trace(request.trace_id)
        return trace_pb2.GetTraceResponse(spans=[to_proto(span) for span in spans])

    async def GetRunTrace(self, request, context):
        identity.require_mesh()
        trace_id, spans = await self._queries.run_trace(request.run_id)
        return trace_pb2.GetRunTraceResponse(
            trace_id=trace_id, spans=[to_proto(span) for span in spans]
        )

    async def SearchSpans(self, request, context):
        identity.require_mesh()
        where = SpanFilter(
            service=request.service,
            name_prefix=request.name_prefix,
            run_id=request.run_id,
            workflow=request.workflow,
            agent=request.agent,
            status_code=request.status_code,
            start_after=_unix_nano(request, "start_after"),
            start_before=_unix_nano(request, "start_before"),
        )
        spans, next_token = await self._queries.search(where, request.page_size, request.page_token)
        return trace_pb2.SearchSpansResponse(
            spans=[to_proto(span) for span in spans], next_page_token=next_token
        )


def to_proto(span: SpanRecord) -> trace_pb2.Span:
    return trace_pb2.Span(
        trace_id=span.trace_id,
        span_id=span.span_id,
        parent_span_id=span.parent_span_id,
        name=span.name,
        service=span.service,
        kind=span.kind,
        start_time=_timestamp(span.start_unix_nano),
        end_time=_timestamp(span.end_unix_nano),
        status_code=span.status_code,
        status_message=span.status_message,
        attributes=_struct(span.attributes),
        events=[
            trace_pb2.SpanEvent(
                name=event.name,
                time=_timestamp(event.time_unix_nano),
                attributes=_struct(event.attributes),
            )
            for event in span.events
        ],
    )


def _unix_nano(request, field: str) -> int | None:
    if not request.HasField(field):
        return None
    try:
        return getattr(request, field).ToNanoseconds()
    except ValueError as exc:
        raise errors.InvalidArgument(f"{field} is not a valid timestamp", field=field) from exc


def _timestamp(unix_nano: int) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromNanoseconds(unix_nano)
    return stamp


def _struct(values: dict) -> struct_pb2.Struct:
    # Struct numbers are doubles: integers beyond 2**53 lose precision here, as in any JSON.
    struct = struct_pb2.Struct()
    struct.update(values)
    return struct
