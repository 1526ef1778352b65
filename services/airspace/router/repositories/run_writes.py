"""The runs' durable writes (CreateRun, AppendEvents), sent to the state service in
BatchWriteRuns calls: the writes of runs in flight together share a round trip, and
the state service commits them together.

Each write keeps the meaning of its own method: it stands or fails alone, and it is
retried alone while the state service is unavailable (a whole call that fails so, or
the write's own result: a busy store).
"""

from __future__ import annotations

from airspace.mesh import errors
from airspace.router.clients import once, retrying
from airspace.router.coalescer import Coalescer
from airspace.state.v1 import state_pb2, state_pb2_grpc

# The state service's limit per call (airspace.state.servicer.MAX_BATCH_WRITES).
MAX_WRITES = 256


def _size(write: state_pb2.RunWrite) -> int:
    return write.ByteSize()


class RunWrites:
    def __init__(self, state: state_pb2_grpc.StateServiceStub, max_message_bytes: int):
        self._state = state
        # Half a message: the batch's own framing always fits, and a write that alone
        # is larger still goes (alone), as it would by its own method.
        self._batches: Coalescer[state_pb2.RunWrite, state_pb2.RunWriteResult] = Coalescer(
            self._send,
            "the state service",
            "run_writes",
            max_items=MAX_WRITES,
            max_bytes=max_message_bytes // 2,
            size=_size,
        )

    async def create(self, request: state_pb2.CreateRunRequest) -> state_pb2.CreateRunResponse:
        result = await self._write(state_pb2.RunWrite(create_run=request), "CreateRun")
        return result.create_run

    async def append(
        self, request: state_pb2.AppendEventsRequest
    ) -> state_pb2.AppendEventsResponse:
        result = await self._write(state_pb2.RunWrite(append_events=request), "AppendEvents")
        return result.append_events

    async def close(self) -> None:
        """Sends the writes still queued."""
        await self._batches.close()

    async def _write(self, write: state_pb2.RunWrite, name: str) -> state_pb2.RunWriteResult:
        return await retrying(lambda: self._batches.submit(write), name)

    async def _send(
        self, writes: list[state_pb2.RunWrite]
    ) -> list[state_pb2.RunWriteResult | errors.MeshError]:
        request = state_pb2.BatchWriteRunsRequest(writes=writes)
        # Once: each write of a failed call is retried on its own (_write).
        response: state_pb2.BatchWriteRunsResponse = await once(self._state.BatchWriteRuns, request)
        return [
            errors.from_status(result.error) if result.HasField("error") else result
            for result in response.results
        ]
