'use strict';
// OpenTelemetry tracing: spans exported over OTLP/gRPC to the mesh's collector (or any OTLP
// backend), parented by the W3C trace context the router sends in gRPC metadata, so the
// agent's spans join the run's trace.

const grpc = require('@grpc/grpc-js');
const { ROOT_CONTEXT, defaultTextMapGetter } = require('@opentelemetry/api');
const { W3CTraceContextPropagator } = require('@opentelemetry/core');
const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-grpc');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const { BasicTracerProvider, BatchSpanProcessor } = require('@opentelemetry/sdk-trace-base');

// A run's trace should be readable a moment after the run ends.
const EXPORT_DELAY_MILLIS = 500;
const propagator = new W3CTraceContextPropagator();

// A tracer provider; spans go nowhere unless an OTLP endpoint ("host:port" or a URL) is set.
// With `tls` ({ cert, key, ca }) spans go over TLS, the agent proving itself with its certificate;
// `credential` is the telemetry credential the agent got at registration, which the collector
// asks for (sent as `authorization: Bearer <credential>`).
function tracerProvider(serviceName, otlpEndpoint, tls = null, credential = '') {
  const spanProcessors = [];
  if (otlpEndpoint) {
    const scheme = tls ? 'https' : 'http';
    const url = otlpEndpoint.includes('://') ? otlpEndpoint : `${scheme}://${otlpEndpoint}`;
    const credentials = tls ? grpc.credentials.createSsl(tls.ca, tls.key, tls.cert) : undefined;
    const metadata = new grpc.Metadata();
    if (credential) metadata.set('authorization', `Bearer ${credential}`);
    spanProcessors.push(
      new BatchSpanProcessor(new OTLPTraceExporter({ url, credentials, metadata }), {
        scheduledDelayMillis: EXPORT_DELAY_MILLIS,
      }),
    );
  }
  return new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': serviceName }),
    spanProcessors,
  });
}

// The trace context the caller sent (traceparent, tracestate) in gRPC metadata.
function extractContext(metadata) {
  const carrier = {};
  for (const key of ['traceparent', 'tracestate']) {
    const [value] = metadata.get(key);
    if (typeof value === 'string') carrier[key] = value;
  }
  return propagator.extract(ROOT_CONTEXT, carrier, defaultTextMapGetter);
}

module.exports = { extractContext, tracerProvider };
