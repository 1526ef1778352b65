"""The audit relay (router/audit_relay.py) on in-memory fakes: records stored in the audit
outbox are gathered into one batch, appended to the audit log and then removed from the
outbox; a failing audit log leaves them in the outbox until it takes them; with nothing
to relay no task is left running."""

from __future__ import annotations

import asyncio

import pytest
from harness import until

from airspace.policy.v1 import policy_pb2
from airspace.router.audit_relay import AuditRelay
from airspace.router.repositories.in_memory import InMemoryAuditSink, in_memory_repositories

pytestmark = pytest.mark.unit


def records(*ids: str) -> list[policy_pb2.AuditRecord]:
    return [policy_pb2.AuditRecord(kind="policy.decision", record_id=i) for i in ids]


def relaying_tasks() -> list[asyncio.Task]:
    return [t for t in asyncio.all_tasks() if "AuditRelay._relay" in repr(t.get_coro())]


@pytest.fixture
def outbox():
    repositories = in_memory_repositories()
    return repositories.runs.outbox  # type: ignore[attr-defined]


async def test_stored_records_go_in_one_batch_then_leave_the_outbox(outbox):
    audit_log = InMemoryAuditSink()
    relay = AuditRelay(outbox, audit_log, "router-1", gather_seconds=0.05)
    for record_id in ("a", "b", "c"):  # three appends, one after the other
        outbox.keep("router-1", records(record_id))
        relay.stored(records(record_id))
    await until(lambda: not outbox.entries)
    assert [[r.record_id for r in batch] for batch in audit_log.batches] == [["a", "b", "c"]]
    assert outbox.removals == 1
    await until(lambda: not relaying_tasks())  # idle: nothing left running


async def test_a_failing_audit_log_keeps_the_records_in_the_outbox_until_it_works(outbox):
    audit_log = InMemoryAuditSink()
    audit_log.failing = True
    relay = AuditRelay(outbox, audit_log, "router-1", gather_seconds=0.0)
    outbox.keep("router-1", records("a", "b"))
    relay.stored(records("a", "b"))
    await until(lambda: len(audit_log.batches) >= 2)  # tried, and tried again
    assert set(outbox.entries) == {"a", "b"} and audit_log.durable == []
    audit_log.failing = False
    await until(lambda: not outbox.entries)
    assert [r.record_id for r in audit_log.durable] == ["a", "b"]
    await relay.close()
