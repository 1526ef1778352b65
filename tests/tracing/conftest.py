"""Real collectors on 127.0.0.1 port 0, exports from the stock OpenTelemetry SDK, mesh callers."""

import asyncio
from collections.abc import Callable

import grpc
import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Tracer
from span_senders import MESH_KEY, credential_headers

from airspace.mesh import channels, identity, telemetry_credentials
from airspace.trace.v1 import trace_pb2_grpc
from airspace.tracing import collector
from airspace.tracing.settings import TraceSettings


@pytest.fixture
async def start_collector(tmp_path):
    """Starts collectors (settings overrides as keywords); stops the ones still running."""
    started: list[collector.Collector] = []

    async def start(name: str = "collector", **overrides) -> collector.Collector:
        settings = TraceSettings(data_dir=str(tmp_path / name), mesh_key=MESH_KEY, **overrides)
        running = await collector.build(settings)
        await running.server.start()
        started.append(running)
        return running

    yield start
    for running in started:
        await running.server.stop(grace=0)


@pytest.fixture
async def open_channels():
    opened: list[grpc.aio.Channel] = []

    def open_(port: int, caller: identity.Identity | None = None) -> grpc.aio.Channel:
        settings = TraceSettings(mesh_key=MESH_KEY)
        caller = caller or channels.mesh_identity("test")
        opened.append(channels.open_channel(f"127.0.0.1:{port}", settings, as_identity=caller))
        return opened[-1]

    yield open_
    for channel in opened:
        await channel.close()


@pytest.fixture
def queries(open_channels):
    """A TraceQueryService stub calling as a mesh service."""
    return lambda port: trace_pb2_grpc.TraceQueryServiceStub(open_channels(port))


@pytest.fixture
def export():
    """Records spans with a stock SDK tracer and exports them to a collector in one batch."""

    async def export_(
        port: int,
        record: Callable[[Tracer], None],
        service: str = "router",
        sender: telemetry_credentials.Sender | None = None,
    ):
        """`sender` is who the export's credential names (by default the mesh service)."""

        # The SDK exporter is synchronous, so it runs on a thread while the loop serves.
        def run() -> None:
            provider = TracerProvider(resource=Resource.create({"service.name": service}))
            exporter = OTLPSpanExporter(
                endpoint=f"127.0.0.1:{port}",
                insecure=True,
                headers=credential_headers(sender or telemetry_credentials.service(service)),
            )
            provider.add_span_processor(BatchSpanProcessor(exporter))
            record(provider.get_tracer("tests.tracing"))
            provider.shutdown()

        await asyncio.to_thread(run)

    return export_


@pytest.fixture
def eventually():
    """Polls an async check until it returns something truthy (e.g. forwarded spans arrived)."""

    async def eventually_(check: Callable, timeout: float = 15.0):
        loop = asyncio.get_running_loop()
        give_up = loop.time() + timeout
        while not (result := await check()):
            if loop.time() > give_up:
                raise AssertionError("condition not met in time")
            await asyncio.sleep(0.05)
        return result

    return eventually_
