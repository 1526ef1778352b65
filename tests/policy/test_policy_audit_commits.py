"""Group commit of the audit log: checks waiting together share one transaction (one
fsync), each answered once its own entry is durable; a failed commit fails them all,
and the router then fails closed."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Sequence

import pytest
from policy_helpers import DEFAULT_BUNDLE, HASH_KEY, check, user
from prometheus_client import REGISTRY

from airspace.mesh import errors
from airspace.policy.audit.chain import AuditRecord
from airspace.policy.audit.log import AuditLog
from airspace.policy.audit.opening import open_store
from airspace.policy.audit.signing import HeadSigner
from airspace.policy.audit.store import Appended, Batch, SqliteAuditStore
from airspace.policy.audit.witness import FileWitness
from airspace.policy.engine import Masker
from airspace.policy.engine.model import CheckInput, Decision, Resource, Subject
from airspace.policy.service.core import PolicyCore
from airspace.policy.vault.store import SqliteTokenStore
from airspace.policy.vault.vault import TokenVault
from airspace.router.guard import Guard
from airspace.router.repositories import AuditEvent
from airspace.v1 import run_pb2

pytestmark = pytest.mark.unit

SIGNER = HeadSigner.generate()


def opened(store: SqliteAuditStore, tmp_path) -> AuditLog:
    witness = FileWitness(tmp_path / "witness.jsonl")
    open_store(store, witness, None, Masker(HASH_KEY))
    return AuditLog(store, witness)


class RecordingStore(SqliteAuditStore):
    """The SQLite store, remembering how many records each commit held; a commit can be
    held back until the test lets it go."""

    def __init__(self, path):
        super().__init__(path, SIGNER)
        self.batches: list[int] = []
        self.hold = threading.Event()
        self.hold.set()
        self.entered = threading.Event()

    def append(self, batches: Sequence[Batch]) -> list[Appended]:
        self.entered.set()
        self.hold.wait(timeout=10)
        self.batches.append(sum(len(batch.records) for batch in batches))
        return super().append(batches)


class BrokenStore(SqliteAuditStore):
    def append(self, batches: Sequence[Batch]) -> list[Appended]:
        raise sqlite3.OperationalError("disk I/O error")


def broken_core(tmp_path, log: AuditLog) -> PolicyCore:
    vault = TokenVault(SqliteTokenStore(tmp_path / "tokens.db"), b"k" * 32)
    return PolicyCore(DEFAULT_BUNDLE, HASH_KEY, log, vault)


def commits() -> float:
    return REGISTRY.get_sample_value("airspace_audit_commits_total") or 0.0


def record(n: int) -> AuditRecord:
    return AuditRecord("policy.decision", "acme", f"user:{n}", decision_id=f"d-{n}")


async def test_appends_waiting_together_are_one_commit(tmp_path):
    store = RecordingStore(tmp_path / "audit.db")
    log = opened(store, tmp_path)
    before = commits()
    entries = await asyncio.gather(*(log.append(record(n)) for n in range(16)))
    assert store.batches == [16]
    assert commits() - before == 1
    # Each caller gets its own entry, in the order it asked.
    assert [e.decision_id for e in entries] == [f"d-{n}" for n in range(16)]
    assert [e.sequence for e in entries] == list(range(1, 17))
    await log.close()


async def test_appends_arriving_during_a_commit_share_the_next_one(tmp_path):
    store = RecordingStore(tmp_path / "audit.db")
    log = opened(store, tmp_path)
    store.hold.clear()
    first = asyncio.ensure_future(log.append(record(0)))
    await asyncio.to_thread(store.entered.wait, 10)  # the first commit is in flight
    later = [asyncio.ensure_future(log.append(record(n))) for n in range(1, 9)]
    await asyncio.sleep(0)
    assert not first.done()  # not answered before its entry is durable
    store.hold.set()
    await asyncio.gather(first, *later)
    assert store.batches == [1, 8]
    assert (await log.verify()).ok
    await log.close()


async def test_a_failed_commit_fails_every_check_waiting_on_it(tmp_path):
    log = opened(BrokenStore(tmp_path / "audit.db", SIGNER), tmp_path)
    core = broken_core(tmp_path, log)
    step = check("step.input", user("operator"), payload={"note": "hi"})
    outcomes = await asyncio.gather(*(core.check(step) for _ in range(5)), return_exceptions=True)
    assert all(isinstance(outcome, errors.Unavailable) for outcome in outcomes)
    await log.close()
    await core.vault.close()


class CoreDecisions:
    """The router's policy repository, calling the core as the servicer would."""

    def __init__(self, core: PolicyCore):
        self._core = core

    async def check(self, check: CheckInput, carrier=None) -> Decision:
        return await self._core.check(check)

    async def record_audit(self, event: AuditEvent) -> None:
        await self._core.record(event.kind, event.subject, event.run_id, event.details)


async def test_the_router_fails_closed_when_the_audit_commit_fails(tmp_path):
    log = opened(BrokenStore(tmp_path / "audit.db", SIGNER), tmp_path)
    core = broken_core(tmp_path, log)
    guard = Guard(CoreDecisions(core))
    subject = Subject(principal="user:ann", tenant="acme", roles=("operator",), kind="user")
    resource = Resource(kind="agent", name="writer", tenant="acme")
    judgements = await asyncio.gather(
        *(guard.judge("step.input", subject, resource, {"text": "hi"}) for _ in range(3))
    )
    for judgement in judgements:
        assert judgement.verdict.verdict == run_pb2.VERDICT_DENY
        assert [r.code for r in judgement.verdict.reasons] == ["POLICY_UNAVAILABLE"]
    await log.close()
    await core.vault.close()
