"""The hash-chained audit log: appends, masking, and tampering found by verification.

Tampering goes straight at the SQLite file, as an attacker with file access would:
drop the append-only triggers, then edit, delete, reorder or truncate. (The same
attacks against the running service: test_policy_audit_tampering.py.)"""

from __future__ import annotations

import asyncio
import json
import sqlite3

import pytest
from policy_helpers import HASH_KEY, check, engine_for, forge_append, rewrite_chain, tamper, user

from airspace.policy.audit.chain import AuditRecord, seal
from airspace.policy.audit.log import AuditLog
from airspace.policy.audit.opening import (
    Acknowledgement,
    AuditIncident,
    incident_record,
    open_store,
)
from airspace.policy.audit.records import decision_record, masked_details
from airspace.policy.audit.signing import HeadSigner, HeadVerifier
from airspace.policy.audit.store import Batch, SqliteAuditStore, UntrustedHead
from airspace.policy.audit.verification import Report
from airspace.policy.audit.witness import FileWitness
from airspace.policy.engine import Masker

pytestmark = pytest.mark.unit

SIGNER = HeadSigner.generate()


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "audit.db"


@pytest.fixture
def witness(tmp_path):
    return FileWitness(tmp_path / "witness" / "heads.jsonl")


def opened(db_path, witness, signer: HeadSigner = SIGNER) -> SqliteAuditStore:
    store = SqliteAuditStore(db_path, signer)
    open_store(store, witness, None, Masker(HASH_KEY))
    return store


def verified(store: SqliteAuditStore, witness) -> Report:
    return store.verify(witness.heads(), witness_name="the witness")


@pytest.fixture
def store(db_path, witness):
    """Five entries in one commit: one signed head, published to the witness."""
    store = opened(db_path, witness)
    five = [
        AuditRecord("run.state_changed", "acme", f"user:{n}", run_id=f"r-{n}", details={"n": n})
        for n in range(5)
    ]
    store.append([Batch(five)])
    witness.publish(store.signed)
    yield store
    store.close()


def test_an_untouched_chain_verifies(store, witness):
    result = verified(store, witness)
    assert (result.ok, result.entries_checked, result.signed_size) == (True, 5, 5)
    entries = store.list(tenant="acme", run_id="", principal="", after=0, limit=10)
    assert [e.sequence for e in entries] == [1, 2, 3, 4, 5]
    assert all(b.previous_hash == a.hash for a, b in zip(entries, entries[1:], strict=False))


def test_updates_and_deletes_are_refused_by_sqlite(store, db_path):
    with sqlite3.connect(db_path) as conn, pytest.raises(sqlite3.IntegrityError, match="append"):
        conn.execute("UPDATE audit_entries SET principal = 'user:eve'")
    with sqlite3.connect(db_path) as conn, pytest.raises(sqlite3.IntegrityError, match="append"):
        conn.execute("DELETE FROM audit_signed_heads")


@pytest.mark.parametrize(
    ("statements", "bad", "problem"),
    [
        (["UPDATE audit_entries SET details = '{\"n\": 99}' WHERE sequence = 3"], 3, "hash"),
        (["UPDATE audit_entries SET principal = 'user:eve' WHERE sequence = 1"], 1, "hash"),
        (["DELETE FROM audit_entries WHERE sequence = 2"], 2, "entry 2 is missing"),
        (
            [
                "UPDATE audit_entries SET sequence = 100 WHERE sequence = 2",
                "UPDATE audit_entries SET sequence = 2 WHERE sequence = 4",
                "UPDATE audit_entries SET sequence = 4 WHERE sequence = 100",
            ],
            2,
            "does not link",
        ),
        (["DELETE FROM audit_entries WHERE sequence >= 4"], 4, "entries were removed"),
        (
            ["DELETE FROM audit_entries WHERE sequence >= 4", "DELETE FROM audit_signed_heads"],
            4,
            "entries were removed",
        ),
    ],
    ids=["edit-details", "edit-principal", "delete", "reorder", "truncate", "truncate-and-heads"],
)
def test_tampering_is_found(store, witness, db_path, statements, bad, problem):
    tamper(db_path, *statements)
    result = verified(store, witness)
    assert not result.ok
    assert any(f.sequence == bad and problem in f.problem for f in result.findings)


def test_appends_continue_the_chain_after_reopening(store, db_path, witness):
    reopened = opened(db_path, witness)
    [appended] = reopened.append([Batch([AuditRecord("approval.decided", "acme", "user:bo")])])
    (entry,) = appended.entries
    assert entry.sequence == 6
    assert verified(reopened, witness).ok
    reopened.close()


def test_a_store_appends_nothing_before_its_head_is_verified(db_path):
    store = SqliteAuditStore(db_path, SIGNER)
    with pytest.raises(UntrustedHead, match="a head verified at start"):
        store.append([Batch([AuditRecord("approval.decided", "acme", "user:bo")])])
    store.close()


async def test_concurrent_appends_are_group_committed_into_one_chain(db_path, witness):
    log = AuditLog(opened(db_path, witness), witness)
    entries = await asyncio.gather(
        *(log.append(AuditRecord("policy.decision", "acme", f"user:{n}")) for n in range(50))
    )
    assert sorted(e.sequence for e in entries) == list(range(1, 51))
    result = await log.verify()
    assert (result.ok, result.entries_checked) == (True, 50)
    assert witness.heads()[-1].size == 50  # verify publishes the latest head first
    page = await log.list(tenant="acme", after=40, limit=5)
    assert [e.sequence for e in page] == [41, 42, 43, 44, 45]
    await log.close()


def test_decision_records_carry_codes_not_payloads():
    engine = engine_for()
    payload = {"note": "mail ann@example.com"}
    step = check("step.input", user("mesh"), name="bob@example.com", payload=payload)
    decision = engine.decide(step)
    record = decision_record(step, decision, Masker(HASH_KEY))
    assert record.decision_id == decision.decision_id and record.run_id == "r-1"
    assert record.details["reason_codes"] == ["RBAC_GRANTED", "PII_MASKED"]
    assert record.details["rule_ids"] == ["builtin:rbac", "pii:EMAIL"]
    assert record.details["masked"] == {"EMAIL": 1}
    flat = repr(record)
    assert "ann@example.com" not in flat and "bob@example.com" not in flat
    assert record.details["resource"]["name"].startswith("[EMAIL:hmac:")


def test_details_are_masked_in_values_and_member_names():
    details = {"by": {"ann@example.com": ["call +44 20 7946 0958", 3]}, "ok": "fine"}
    masked = masked_details(details, Masker(HASH_KEY))
    (key,) = masked["by"]
    assert key.startswith("[EMAIL:hmac:")
    assert masked["by"][key][0].startswith("call [PHONE:hmac:") and masked["ok"] == "fine"


@pytest.fixture
def signed_one_by_one(db_path, witness):
    """Five entries appended one at a time: one signed head each, the witness at 3."""
    store = opened(db_path, witness)
    for n in range(5):
        store.append(
            [Batch([AuditRecord("run.state_changed", "acme", f"user:{n}", details={"n": n})])]
        )
        if n == 2:
            witness.publish(store.signed)
    yield store
    store.close()


def test_a_rewritten_chain_is_found_at_the_first_rewritten_entry(
    signed_one_by_one, db_path, witness
):
    assert verified(signed_one_by_one, witness).ok
    rewrite_chain(db_path, 3, {"n": 99})
    result = verified(signed_one_by_one, witness)
    assert [(f.check, f.sequence) for f in result.findings][:2] == [("heads", 3), ("witness", 3)]
    assert "no longer matches its signed head at entry 3" in result.findings[0].problem


def test_a_forged_head_is_found(signed_one_by_one, db_path, witness):
    tamper(db_path, "UPDATE audit_signed_heads SET signature = 'ab' || signature WHERE size = 4")
    result = verified(signed_one_by_one, witness)
    assert [(f.check, f.sequence) for f in result.findings] == [("signatures", 4)]
    assert (
        "head of entry 4 in the database is not signed with the audit key"
        in result.findings[0].problem
    )


def test_entries_appended_without_the_key_are_found(signed_one_by_one, db_path, witness):
    forge_append(db_path, HeadSigner.generate())
    result = verified(signed_one_by_one, witness)
    assert {(f.check, f.sequence) for f in result.findings} == {
        ("signatures", 6),
        ("coverage", 6),
    }
    assert "entries 6..6 are not covered by a signed head" in result.failed("coverage")[0].problem


def test_a_verifier_needs_only_the_public_key(signed_one_by_one, witness):
    public = signed_one_by_one.verifier
    raw = HeadVerifier.from_public_bytes(public.public_bytes())
    assert all(raw.valid(head) for head in witness.heads())
    assert not hasattr(raw, "sign")


def test_heads_signed_with_another_key_do_not_verify(signed_one_by_one, db_path, witness):
    other = SqliteAuditStore(db_path, HeadSigner.generate())
    result = verified(other, witness)
    assert {f.check for f in result.findings} == {"signatures", "coverage"}
    assert "it names key" in result.findings[0].problem
    other.close()


def test_an_acknowledged_incident_covers_only_what_it_names(signed_one_by_one, db_path, witness):
    tamper(
        db_path,
        "DELETE FROM audit_entries WHERE sequence > 2",
        "DELETE FROM audit_signed_heads WHERE size > 2",
    )
    found = verified(signed_one_by_one, witness)
    assert [f.check for f in found.findings] == ["witness"]
    again = SqliteAuditStore(db_path, SIGNER)
    open_store(
        again, witness, Acknowledgement(found.incident_id(), "restored by hand"), Masker(HASH_KEY)
    )
    result = verified(again, witness)
    assert result.ok and result.incidents == (3,)
    assert [f.check for f in result.acknowledged] == ["witness"]
    tamper(db_path, "UPDATE audit_entries SET principal = 'user:eve' WHERE sequence = 1")
    assert [(f.check, f.sequence) for f in verified(again, witness).findings] == [("chain", 1)]
    again.close()


def test_an_incident_entry_nobody_signed_acknowledges_nothing(signed_one_by_one, db_path, witness):
    tamper(db_path, "DELETE FROM audit_entries WHERE sequence = 2")
    keys = [f.key for f in verified(signed_one_by_one, witness).findings]
    with sqlite3.connect(db_path) as conn:
        (previous,) = conn.execute("SELECT hash FROM audit_entries WHERE sequence = 5").fetchone()
    forged = incident_record(verified(signed_one_by_one, witness), "nothing to see")
    entry = seal(6, 1, forged, previous)
    with sqlite3.connect(db_path) as conn:
        conn.execute(
            "INSERT INTO audit_entries VALUES (6, 1, ?, '*', ?, '', '', ?, ?, ?)",
            (entry.kind, entry.principal, json.dumps(dict(entry.details)), previous, entry.hash),
        )
    result = verified(signed_one_by_one, witness)
    assert not result.acknowledged and {f.key for f in result.findings} >= set(keys)


def test_an_unreadable_witness_stops_the_start_even_when_acknowledged(
    signed_one_by_one, db_path, witness, tmp_path
):
    path = tmp_path / "witness" / "heads.jsonl"
    path.write_text(path.read_text() + "{not a head\n")
    again = SqliteAuditStore(db_path, SIGNER)
    with pytest.raises(AuditIncident) as refusal:
        open_store(again, witness, None, Masker(HASH_KEY))
    assert "line 2 is not a signed head" in str(refusal.value)
    acknowledged = Acknowledgement(refusal.value.incident, "the disk filled up")
    with pytest.raises(AuditIncident):
        open_store(again, witness, acknowledged, Masker(HASH_KEY))
    again.close()


def decision(n: int) -> AuditRecord:
    return AuditRecord("policy.decision", "acme", "agent:writer", "r-1", f"d-{n}", {"n": n})


def test_a_batch_sent_again_under_its_request_id_is_appended_once(db_path, witness):
    store = opened(db_path, witness)
    batch = Batch([decision(1), decision(2)], request_id="batch-1")
    [first] = store.append([batch])
    [again] = store.append([batch])  # the retry of a batch whose reply was lost
    assert (first.replayed, again.replayed, again.conflicting) == (False, True, False)
    assert again.entries == first.entries
    stored = store.list(tenant=None, run_id="", principal="", after=0, limit=100)
    assert [entry.decision_id for entry in stored] == ["d-1", "d-2"]
    assert verified(store, witness).ok
    store.close()


def test_a_retry_sharing_its_batch_s_transaction_is_appended_once(db_path, witness):
    store = opened(db_path, witness)
    batch = Batch([decision(1)], request_id="batch-1")
    first, again, other = store.append([batch, batch, Batch([decision(2)])])
    assert again.replayed and again.entries == first.entries
    assert [entry.sequence for entry in other.entries] == [2]
    store.close()


def test_a_request_id_of_another_batch_is_told_apart(db_path, witness):
    store = opened(db_path, witness)
    store.append([Batch([decision(1)], request_id="batch-1")])
    [reused] = store.append([Batch([decision(2)], request_id="batch-1")])
    assert reused.replayed and reused.conflicting
    assert len(store.list(tenant=None, run_id="", principal="", after=0, limit=100)) == 1
    store.close()


def test_only_the_request_ids_of_recent_batches_are_kept(db_path, witness):
    store = SqliteAuditStore(db_path, SIGNER, recent_batches=2)
    open_store(store, witness, None, Masker(HASH_KEY))
    for n in range(3):
        store.append([Batch([decision(n)], request_id=f"batch-{n}")])
    kept = sqlite3.connect(db_path).execute("SELECT request_id FROM audit_batches").fetchall()
    assert sorted(kept) == [("batch-1",), ("batch-2",)]
    [forgotten] = store.append([Batch([decision(0)], request_id="batch-0")])
    assert not forgotten.replayed  # past the retention, a batch is new again
    store.close()
