"""The audit relay (router/audit_relay.py) on in-memory fakes: records stored in the audit
outbox are gathered into one batch, appended to the audit log and then removed from the
outbox; a failing audit log leaves them in the outbox until it takes them; with nothing
to relay no task is left running; a claimed record whose seal fails is relayed as a
rejected entry, holding none of what it held."""

from __future__ import annotations

import asyncio

import pytest
from harness import until

from airspace.policy.v1 import policy_pb2
from airspace.router import metrics
from airspace.router.audit_relay import AuditRelay
from airspace.router.repositories.in_memory import InMemoryAuditSink, in_memory_repositories
from airspace.router.repositories.outbox_seal import OutboxSeal

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


async def test_claimed_records_whose_seal_fails_are_relayed_as_rejected_entries():
    repositories = in_memory_repositories()
    outbox = repositories.runs.outbox  # type: ignore[attr-defined]
    audit_log = InMemoryAuditSink()
    relay = AuditRelay(outbox, audit_log, "router-1", gather_seconds=0.0)
    intact, altered, forged = records("intact", "altered", "forged")
    altered.tenant, altered.run_id, altered.decision_id = "acme", "a" * 32, "d" * 32
    altered.details.update({"text": "jane@example.com"})
    # What no router writes: PII where the tenant goes, ids and a kind of another shape.
    forged.tenant, forged.run_id, forged.kind = "jane@example.com", "run 1", "jane.doe"
    outbox.keep("router-1", [intact, altered, forged])
    outbox.altered |= {"altered", "forged"}
    rejected_before = metrics.AUDIT_OUTBOX_REJECTED._value.get()
    relay.take_over(await repositories.leases.register("router-1", 30.0))
    await until(lambda: not outbox.entries)  # both entries leave the outbox
    [kept] = [record for record in audit_log.durable if record.kind == "policy.decision"]
    assert kept.record_id == "intact"
    rejection, of_forged = [r for r in audit_log.durable if r.kind == "audit.outbox_rejected"]
    assert (rejection.tenant, rejection.run_id, rejection.principal) == (
        "acme",
        "a" * 32,
        "service:router",
    )
    assert rejection.record_id.startswith("rejected:") and len(rejection.record_id) <= 64
    assert dict(rejection.details)["claimed_kind"] == "policy.decision"
    assert dict(rejection.details)["claimed_decision_id"] == "d" * 32
    assert (of_forged.tenant, of_forged.run_id, dict(of_forged.details)["claimed_kind"]) == (
        "*",
        "",
        "other",
    )
    assert "jane" not in str([rejection, of_forged])  # none of what they held
    assert metrics.AUDIT_OUTBOX_REJECTED._value.get() == rejected_before + 2
    await relay.close()


def test_a_seal_holds_through_storage_and_breaks_with_any_change_or_another_key():
    seal = OutboxSeal(b"mesh-key")
    [record] = records("r1")
    record.details.update({"verdict": "ALLOW", "b": 1, "a": [1, "x"]})
    seal.seal([record])
    stored = policy_pb2.AuditRecord.FromString(record.SerializeToString())
    assert seal.holds(stored)
    assert not OutboxSeal(b"another-key").holds(stored)
    for change in (
        lambda r: r.details.update({"verdict": "DENY"}),
        lambda r: setattr(r, "run_id", "run-2"),
        lambda r: setattr(r, "record_id", "r2"),
        lambda r: r.ClearField("outbox_seal"),
    ):
        changed = policy_pb2.AuditRecord()
        changed.CopyFrom(stored)
        change(changed)
        assert not seal.holds(changed)
