"""OpenTelemetry tracing for mesh services and agents, with W3C trace context in gRPC metadata.

Spans are created where they pay (the gateway call, the workflow, each agent
invocation); internal hops carry the context without a span of their own.
"""

from __future__ import annotations

import grpc
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from airspace.mesh import telemetry_credentials, tls
from airspace.mesh.settings import ServerSettings

_PROPAGATOR = TraceContextTextMapPropagator()
EXPORT_DELAY_MILLIS = 500
_provider: TracerProvider | None = None


def setup_for(
    service_name: str, settings: ServerSettings, credential: str | None = None
) -> TracerProvider:
    """`setup` for a process of the mesh: its OTLP endpoint and TLS from its settings, and
    the telemetry credential the collector asks for — a mesh service's own (signed with
    the mesh key), or the `credential` an agent was given at registration."""
    if credential is None:
        credential = telemetry_credentials.issue(
            settings.mesh_key, telemetry_credentials.service(service_name)
        )
    return setup(
        service_name,
        settings.otlp_endpoint,
        tls.channel_credentials(settings),
        telemetry_credentials.export_headers(credential),
    )


def setup(
    service_name: str,
    otlp_endpoint: str = "",
    credentials: grpc.ChannelCredentials | None = None,
    headers: dict[str, str] | None = None,
) -> TracerProvider:
    """Installs the process's tracer provider; exports over OTLP/gRPC when an endpoint is
    set, over TLS with `credentials` (the mesh's, see tls.py) when given, sending
    `headers` (the telemetry credential) with every export."""
    global _provider
    if _provider is not None:
        return _provider
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    if otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(
            BatchSpanProcessor(
                OTLPSpanExporter(
                    endpoint=otlp_endpoint,
                    insecure=credentials is None,
                    credentials=credentials,
                    headers=headers or None,
                ),
                # A run's trace should be readable a moment after the run ends.
                schedule_delay_millis=EXPORT_DELAY_MILLIS,
            )
        )
    trace.set_tracer_provider(provider)
    _provider = provider
    return provider


def shutdown() -> None:
    """Flushes pending spans; called on graceful shutdown."""
    if _provider is not None:
        _provider.shutdown()


def tracer(name: str) -> trace.Tracer:
    return trace.get_tracer(name)


def extract(metadata) -> otel_context.Context:
    """The trace context a caller sent in gRPC metadata (traceparent, tracestate)."""
    carrier = {key: value for key, value in (metadata or ()) if isinstance(value, str)}
    return _PROPAGATOR.extract(carrier)


def inject(ctx: otel_context.Context | None = None) -> list[tuple[str, str]]:
    """Metadata entries carrying the current (or given) trace context."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier, context=ctx)
    return list(carrier.items())


def trace_id_hex(span: trace.Span | None = None) -> str:
    span_context = (span or trace.get_current_span()).get_span_context()
    return format(span_context.trace_id, "032x") if span_context.is_valid else ""
