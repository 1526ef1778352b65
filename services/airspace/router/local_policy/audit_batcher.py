"""Audit records of every run, sent to the policy service in batches (group commit).

A record someone waits for (a decision, before it takes effect) is sent at once, with
everything queued beside it; while a batch is in flight the next one fills up, so runs
in flight share round trips. A record nobody waits for (a run's lifecycle) waits up to
`linger_seconds` for a batch to ride with. Each batch carries an id of its own, which
its retries reuse, so the policy service appends it once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid

from airspace.mesh import errors
from airspace.policy.v1 import policy_pb2
from airspace.router.repositories.ports import AuditSink

log = logging.getLogger("airspace.router")
# A queued record, and the future its waiter awaits (None when nobody waits).
Queued = tuple[policy_pb2.AuditRecord, "asyncio.Future[None] | None"]

# At most one audit transaction at the policy service (airspace.policy.audit.log.MAX_BATCH).
MAX_BATCH = 512


class AuditBatcher:
    def __init__(self, sink: AuditSink, *, linger_seconds: float):
        self._sink = sink
        self._linger = linger_seconds
        self._pending: list[Queued] = []
        self._hurry = asyncio.Event()
        self._flusher: asyncio.Task[None] | None = None

    async def durable(self, record: policy_pb2.AuditRecord) -> None:
        """Returns once the record is durable; raises the domain error of a failed batch."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue(record, future)
        self._hurry.set()
        await future

    def later(self, record: policy_pb2.AuditRecord) -> None:
        """Queues a record to ride with the next batch; a failure is only logged."""
        self._queue(record, None)

    async def close(self) -> None:
        """Sends what is queued, without lingering."""
        self._hurry.set()
        if self._flusher is not None:
            await self._flusher

    def _queue(self, record: policy_pb2.AuditRecord, future: asyncio.Future[None] | None) -> None:
        self._pending.append((record, future))
        if self._flusher is None:
            self._flusher = asyncio.get_running_loop().create_task(self._flush())

    async def _flush(self) -> None:
        try:
            while self._pending:
                if not self._hurry.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._hurry.wait(), self._linger)
                batch = self._pending[:MAX_BATCH]
                del self._pending[:MAX_BATCH]
                if not any(future for _, future in self._pending):
                    self._hurry.clear()
                await self._send(batch)
        finally:
            self._flusher = None

    async def _send(self, batch: list[Queued]) -> None:
        try:
            await self._sink.append([record for record, _ in batch], uuid.uuid4().hex)
        except Exception as exc:
            if not isinstance(exc, errors.MeshError):
                log.exception("audit batch failed")
                exc = errors.Unavailable("the audit log cannot be reached")
            for record, future in batch:
                if future is None:
                    log.error("audit entry %s not recorded: %s", record.kind, exc.message)
                elif not future.done():
                    future.set_exception(exc)
            return
        for _, future in batch:
            if future is not None and not future.done():  # a canceled waiter's record stands
                future.set_result(None)
