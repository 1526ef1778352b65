"""Audit records the router waits for, sent to the policy service in batches (group
commit): a decision no state change carries (a read, a public call's RBAC check, one
whose record holds vault tokens) and a person's decision on an approval.

Callers in flight share round trips (airspace.router.coalescer). Each batch carries an
id of its own, which its retries reuse, so the policy service appends it once.
"""

from __future__ import annotations

import uuid

from airspace.policy.v1 import policy_pb2
from airspace.router.coalescer import Coalescer
from airspace.router.repositories.ports import AuditSink

# At most one audit transaction at the policy service (airspace.policy.audit.log.MAX_BATCH).
MAX_BATCH = 512


class AuditBatcher:
    def __init__(self, sink: AuditSink):
        self._sink = sink
        self._batches: Coalescer[policy_pb2.AuditRecord, None] = Coalescer(
            self._send, "the audit log", "audit_records", max_items=MAX_BATCH
        )

    async def durable(self, record: policy_pb2.AuditRecord) -> None:
        """Returns once the record is durable; raises the domain error of a failed batch."""
        await self._batches.submit(record)

    async def close(self) -> None:
        """Sends what is queued."""
        await self._batches.close()

    async def _send(self, records: list[policy_pb2.AuditRecord]) -> list[None]:
        await self._sink.append(records, uuid.uuid4().hex)
        return [None] * len(records)
