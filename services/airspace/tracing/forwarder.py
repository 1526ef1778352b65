"""Forwards accepted OTLP exports to an external backend (Jaeger, Tempo, an OTel collector).

Ingestion never waits for the backend: exports go into a bounded queue that one task
drains. While the backend is down that task retries with backoff, and when the queue
is full the oldest waiting batch is dropped and counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

from airspace.mesh import tasks

log = logging.getLogger("airspace.tracing.forwarder")

ExportRequest = trace_service_pb2.ExportTraceServiceRequest

FIRST_RETRY_SECONDS = 0.1
ATTEMPT_TIMEOUT_SECONDS = 10.0
# Codes the OTLP spec calls retryable; any other answer means the backend refuses the batch.
RETRYABLE = frozenset(
    {
        grpc.StatusCode.CANCELLED,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.ABORTED,
        grpc.StatusCode.OUT_OF_RANGE,
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DATA_LOSS,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
    }
)


class Forwarder:
    def __init__(
        self,
        endpoint: str,
        queue_max: int,
        retry_max_seconds: float,
        headers: tuple[tuple[str, str], ...] = (),
    ):
        """`headers` go with every export (a backend's API key, say)."""
        self._headers = headers
        self.endpoint = endpoint
        self.forwarded = 0  # batches the backend accepted
        self.dropped = 0  # batches pushed out of the full queue
        self.refused = 0  # batches the backend answered with a non-retryable error
        self._queue: asyncio.Queue[ExportRequest] = asyncio.Queue(queue_max)
        self._retry_max = retry_max_seconds
        self._channel = _channel(endpoint, retry_max_seconds)
        self._stub = trace_service_pb2_grpc.TraceServiceStub(self._channel)
        self._worker: asyncio.Task | None = None
        self._unreachable = False  # to log an outage once, not once per attempt

    def start(self) -> None:
        self._worker = asyncio.create_task(self._drain(), name="otlp-forwarder")

    def submit(self, request: ExportRequest) -> None:
        """Queues a batch without waiting; a full queue loses its oldest batch instead."""
        if self._queue.full():
            self._queue.get_nowait()
            self._queue.task_done()
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.warning("forward queue full: %d batches dropped so far", self.dropped)
        self._queue.put_nowait(request)

    async def close(self, drain_seconds: float = 2.0) -> None:
        """Gives waiting batches a moment to leave, then stops."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._queue.join(), drain_seconds)
        await tasks.cancel(self._worker)
        await self._channel.close()

    async def _drain(self) -> None:
        while True:
            batch = await self._queue.get()
            try:
                await self._deliver(batch)
            finally:
                self._queue.task_done()

    async def _deliver(self, batch: ExportRequest) -> None:
        delay = FIRST_RETRY_SECONDS
        while True:
            try:
                await self._stub.Export(
                    batch, timeout=ATTEMPT_TIMEOUT_SECONDS, metadata=self._headers or None
                )
            except grpc.aio.AioRpcError as exc:
                if exc.code() not in RETRYABLE:
                    self.refused += 1
                    log.warning("%s refused a batch: %s", self.endpoint, exc.code().name)
                    return
                if not self._unreachable:
                    log.warning("%s unreachable (%s); retrying", self.endpoint, exc.code().name)
                    self._unreachable = True
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._retry_max)
                continue
            self.forwarded += 1
            if self._unreachable:
                log.info("%s reachable again", self.endpoint)
                self._unreachable = False
            return


def _channel(endpoint: str, retry_max_seconds: float) -> grpc.aio.Channel:
    # gRPC's own reconnect backoff (up to 2 minutes by default) would outlast ours and
    # keep a recovered backend waiting, so it follows the same bound.
    reconnect_ms = int(retry_max_seconds * 1000)
    options = [
        ("grpc.initial_reconnect_backoff_ms", min(reconnect_ms, 1000)),
        ("grpc.min_reconnect_backoff_ms", min(reconnect_ms, 1000)),
        ("grpc.max_reconnect_backoff_ms", reconnect_ms),
    ]
    if endpoint.startswith("https://"):
        return grpc.aio.secure_channel(
            endpoint.removeprefix("https://"), grpc.ssl_channel_credentials(), options=options
        )
    return grpc.aio.insecure_channel(endpoint.removeprefix("http://"), options=options)
