"""Audit records the router waits for, sent to the policy service in batches (group
commit): a decision no state change carries (a read, a public call's RBAC check, one
whose record holds vault tokens) and a person's decision on an approval.

A record is sent at once, with everything queued beside it; while a batch is in flight
the next one fills up, so callers in flight share round trips. Each batch carries an id
of its own, which its retries reuse, so the policy service appends it once.
"""

from __future__ import annotations

import asyncio
import logging
import uuid

from airspace.mesh import errors
from airspace.policy.v1 import policy_pb2
from airspace.router.repositories.ports import AuditSink

log = logging.getLogger("airspace.router")
# A queued record, and the future its waiter awaits.
Queued = tuple[policy_pb2.AuditRecord, "asyncio.Future[None]"]

# At most one audit transaction at the policy service (airspace.policy.audit.log.MAX_BATCH).
MAX_BATCH = 512


class AuditBatcher:
    def __init__(self, sink: AuditSink):
        self._sink = sink
        self._pending: list[Queued] = []
        self._flusher: asyncio.Task[None] | None = None

    async def durable(self, record: policy_pb2.AuditRecord) -> None:
        """Returns once the record is durable; raises the domain error of a failed batch."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((record, future))
        if self._flusher is None:
            self._flusher = asyncio.get_running_loop().create_task(self._flush())
        await future

    async def close(self) -> None:
        """Sends what is queued."""
        if self._flusher is not None:
            await self._flusher

    async def _flush(self) -> None:
        try:
            while self._pending:
                batch = self._pending[:MAX_BATCH]
                del self._pending[:MAX_BATCH]
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
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for _, future in batch:
            if not future.done():  # a canceled waiter's record stands
                future.set_result(None)
