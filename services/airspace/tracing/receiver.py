"""The standard OTLP/gRPC TraceService: any OpenTelemetry SDK exports spans here.

Only senders with a telemetry credential (airspace.mesh.telemetry_credentials) — the
mesh's services and registered agents — may export: others are refused with
UNAUTHENTICATED and counted. Each span is stored with its sender, which decides whether
it may join a run's trace (see attachment.py).
"""

from __future__ import annotations

from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from prometheus_client import Counter

from airspace.mesh import errors, telemetry_credentials
from airspace.mesh.reasons import Reason
from airspace.tracing import otlp
from airspace.tracing.forwarder import Forwarder
from airspace.tracing.store import SpanStore

EXPORTS_REFUSED = Counter(
    "airspace_trace_exports_refused_total",
    "OTLP exports refused: no telemetry credential (missing) or one the mesh key did not "
    "sign (invalid).",
    ("reason",),
)


class OtlpReceiver(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self, store: SpanStore, mesh_key: bytes, forwarder: Forwarder | None = None):
        self._store = store
        self._mesh_key = mesh_key
        self._forwarder = forwarder

    def _sender(self, metadata) -> telemetry_credentials.Sender:
        values = [value for key, value in metadata or () if key == "authorization"]
        if len(values) != 1 or not str(values[0]).startswith("Bearer "):
            EXPORTS_REFUSED.labels("missing").inc()
            raise errors.Unauthenticated(
                "export spans with 'authorization: Bearer <telemetry credential>'; mesh "
                "services have one, agents get theirs when they are registered",
                reason=Reason.MISSING_CREDENTIALS,
            )
        sender = telemetry_credentials.verify(self._mesh_key, values[0].removeprefix("Bearer "))
        if sender is None:
            EXPORTS_REFUSED.labels("invalid").inc()
            raise errors.Unauthenticated(
                "the telemetry credential is not one this mesh issued",
                reason=Reason.INVALID_TOKEN,
            )
        return sender

    async def Export(self, request, context):
        sender = self._sender(context.invocation_metadata())
        flat = otlp.flatten(request, sender.label)
        await self._store.add(flat.spans)
        if self._forwarder is not None and flat.spans:
            self._forwarder.submit(request)
        response = trace_service_pb2.ExportTraceServiceResponse()
        if flat.rejected:
            # OTLP partial success: the call succeeds and names what was not accepted.
            response.partial_success.rejected_spans = flat.rejected
            response.partial_success.error_message = flat.error_message
        return response
