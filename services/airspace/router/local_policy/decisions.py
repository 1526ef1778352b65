"""The router's PolicyDecisions: checks decided by the embedded engine, with the bundle the
policy service streams, and answered only once their audit record is durable, or handed
to the run's log to be stored with its next append (the audit outbox, run_log.py). Checks
and decisions stay the engine's own values: only the audit record becomes a message, to
travel."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence

from google.protobuf import struct_pb2

from airspace.policy.audit.chain import AuditRecord
from airspace.policy.audit.records import decision_record
from airspace.policy.engine import Tokenized
from airspace.policy.engine.model import CheckInput, Decision
from airspace.policy.service.core import event_record
from airspace.policy.v1 import policy_pb2
from airspace.router.local_policy.audit_batcher import AuditBatcher
from airspace.router.local_policy.bundle_feed import BundleFeed
from airspace.router.repositories.ports import AuditCarrier, AuditEvent


class LocalPolicyDecisions:
    def __init__(self, feed: BundleFeed, batcher: AuditBatcher):
        self._feed = feed
        self._batcher = batcher

    def start(self) -> None:
        self._feed.start()

    async def close(self) -> None:
        await self._feed.close()
        await self._batcher.close()

    async def check(self, check: CheckInput, carrier: AuditCarrier | None = None) -> Decision:
        engine = await self._feed.engine()
        decision = engine.decide(check)
        # The check's one PII scan masked the record's texts already (decision.caller_masks).
        record = decision_record(check, decision, engine.masker)
        if carrier is not None and not decision.tokens:
            carrier.carry(_outboxed(_message(record)))
            return decision
        vault_tenant = check.resource.tenant or check.subject.tenant
        # No effect without its record: the caller acts on the decision once it is durable,
        # and a token in a mask once its value is in the vault.
        await self._batcher.durable(_message(record, decision.tokens, vault_tenant))
        return decision

    def outbox_record(self, event: AuditEvent) -> policy_pb2.AuditRecord:
        return _outboxed(_message(self._event_record(event)))

    async def record_audit(self, event: AuditEvent) -> None:
        await self._batcher.durable(_message(self._event_record(event)))

    async def store(self, records: Sequence[policy_pb2.AuditRecord]) -> None:
        await asyncio.gather(*(self._batcher.durable(record) for record in records))

    def _event_record(self, event: AuditEvent) -> AuditRecord:
        return event_record(
            event.kind, event.subject, event.run_id, event.details, self._feed.masker
        )


def _outboxed(record: policy_pb2.AuditRecord) -> policy_pb2.AuditRecord:
    """The record with an id of its own, which the policy service appends once under."""
    record.record_id = uuid.uuid4().hex
    return record


def _message(
    record: AuditRecord, tokens: Sequence[Tokenized] = (), vault_tenant: str = ""
) -> policy_pb2.AuditRecord:
    details = struct_pb2.Struct()
    details.update(record.details)
    return policy_pb2.AuditRecord(
        kind=record.kind,
        tenant=record.tenant,
        principal=record.principal,
        run_id=record.run_id,
        decision_id=record.decision_id,
        details=details,
        tokens=[
            policy_pb2.TokenValue(token=t.token, entity=t.entity, value=t.value) for t in tokens
        ],
        vault_tenant=vault_tenant if tokens else "",
    )
