"""Assembles the collector: store, OTLP receiver, trace queries and optional forwarder."""

from __future__ import annotations

import dataclasses

from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc

from airspace.mesh.server import MeshServer
from airspace.trace.v1 import trace_pb2_grpc
from airspace.tracing.forwarder import Forwarder
from airspace.tracing.queries import TraceQueries
from airspace.tracing.receiver import OtlpReceiver
from airspace.tracing.servicer import TraceQueryServicer
from airspace.tracing.settings import TraceSettings
from airspace.tracing.sqlite_store import SqliteSpanStore

SERVICE_NAME = "tracing"


@dataclasses.dataclass
class Collector:
    server: MeshServer
    store: SqliteSpanStore
    forwarder: Forwarder | None


async def build(settings: TraceSettings) -> Collector:
    """The collector, its server ready to start(); stopping the server flushes and closes all."""
    store = await SqliteSpanStore.open(settings.database, settings.max_spans)
    forwarder = None
    if settings.forward_endpoint:
        forwarder = Forwarder(
            settings.forward_endpoint,
            settings.forward_queue_max,
            settings.forward_retry_max_seconds,
            settings.forward_metadata,
        )
        forwarder.start()
    srv = MeshServer(SERVICE_NAME, settings)
    # SDKs in any language export with no mesh identity: the receiver asks for a
    # telemetry credential instead, which stock exporters send as a header.
    srv.add_service(
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server,
        OtlpReceiver(store, settings.mesh_key, forwarder),
        anonymous=True,
    )
    srv.add_service(
        trace_pb2_grpc.add_TraceQueryServiceServicer_to_server,
        TraceQueryServicer(TraceQueries(store)),
    )
    srv.on_stop(store.close)
    if forwarder is not None:
        srv.on_stop(forwarder.close)
    return Collector(srv, store, forwarder)
