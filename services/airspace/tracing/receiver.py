"""The standard OTLP/gRPC TraceService: any OpenTelemetry SDK exports spans here."""

from __future__ import annotations

from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

from airspace.tracing import otlp
from airspace.tracing.forwarder import Forwarder
from airspace.tracing.store import SpanStore


class OtlpReceiver(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self, store: SpanStore, forwarder: Forwarder | None = None):
        self._store = store
        self._forwarder = forwarder

    async def Export(self, request, context):
        flat = otlp.flatten(request)
        await self._store.add(flat.spans)
        if self._forwarder is not None and flat.spans:
            self._forwarder.submit(request)
        response = trace_service_pb2.ExportTraceServiceResponse()
        if flat.rejected:
            # OTLP partial success: the call succeeds and names what was not accepted.
            response.partial_success.rejected_spans = flat.rejected
            response.partial_success.error_message = flat.error_message
        return response
