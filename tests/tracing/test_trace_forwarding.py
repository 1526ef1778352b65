"""Forwarding accepted exports to a second collector, and riding out its outages."""

import grpc
import pytest
from span_senders import credential_headers

from airspace.mesh import telemetry_credentials
from airspace.trace.v1 import trace_pb2

pytestmark = pytest.mark.mesh

# The front collector forwards as a mesh service the backend credits.
_FORWARDER = credential_headers(telemetry_credentials.service("tracing"))
RETRY = {
    "forward_retry_max_seconds": 0.1,
    "forward_headers": ",".join(f"{key}={value}" for key, value in _FORWARDER.items()),
}


def one_span(name: str):
    def record(tracer):
        tracer.start_span(name).end()

    return record


@pytest.fixture
def stored(queries):
    """The span names a collector holds for a search, or [] when it is unreachable."""

    async def names(port: int, **filters) -> list[str]:
        try:
            found = await queries(port).SearchSpans(trace_pb2.SearchSpansRequest(**filters))
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.UNAVAILABLE:
                raise
            return []
        return sorted(span.name for span in found.spans)

    return names


async def test_exports_reach_the_forward_endpoint(start_collector, export, stored, eventually):
    backend = await start_collector("backend")
    front = await start_collector(
        "front", forward_endpoint=f"127.0.0.1:{backend.server.port}", **RETRY
    )

    await export(front.server.port, one_span("checkout"), service="shop")

    assert await stored(front.server.port) == ["checkout"]
    assert await eventually(lambda: stored(backend.server.port, service="shop")) == ["checkout"]


async def test_ingestion_continues_while_the_backend_is_down(
    start_collector, export, stored, eventually
):
    backend = await start_collector("backend")
    port = backend.server.port
    front = await start_collector("front", forward_endpoint=f"127.0.0.1:{port}", **RETRY)
    await backend.server.stop(grace=0)

    await export(front.server.port, one_span("during-outage"))
    assert await stored(front.server.port) == ["during-outage"]

    await start_collector("backend", port=port)
    await export(front.server.port, one_span("after-outage"))

    async def both_arrived():
        return await stored(port) == ["after-outage", "during-outage"]

    assert await eventually(both_arrived)


async def test_full_forward_queue_drops_the_oldest_batches(
    start_collector, export, stored, eventually
):
    backend = await start_collector("backend")
    port = backend.server.port
    front = await start_collector(
        "front", forward_endpoint=f"127.0.0.1:{port}", forward_queue_max=2, **RETRY
    )
    await backend.server.stop(grace=0)
    names = [f"batch-{n}" for n in range(1, 7)]

    for name in names:
        await export(front.server.port, one_span(name))
    assert await stored(front.server.port) == names

    await start_collector("backend", port=port)
    forwarder = front.forwarder

    async def settled():
        return forwarder.forwarded + forwarder.dropped == len(names)

    await eventually(settled)
    arrived = await stored(port)
    # At most one batch was in flight and two were queued when the rest arrived.
    assert forwarder.dropped >= len(names) - 3
    assert len(arrived) == forwarder.forwarded
    assert arrived[-2:] == ["batch-5", "batch-6"]
