"""The hash-chained audit log: appends, masking, and tampering found by verify.

Tampering goes straight at the SQLite file, as an attacker with file access would:
drop the append-only triggers, then edit, delete, reorder or truncate."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from policy_helpers import HASH_KEY, check, engine_for, rewrite_chain, tamper, user

from airspace.policy.audit.chain import AuditRecord
from airspace.policy.audit.log import AuditLog
from airspace.policy.audit.records import decision_record, masked_details
from airspace.policy.audit.signing import HeadSigner
from airspace.policy.audit.store import SqliteAuditStore
from airspace.policy.engine import Masker

pytestmark = pytest.mark.unit

SIGNER = HeadSigner(b"policy-tests-audit-checkpoint-key")


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "audit.db"


@pytest.fixture
def store(db_path):
    opened = SqliteAuditStore(db_path, SIGNER)
    opened.append(
        [
            AuditRecord("run.state_changed", "acme", f"user:{n}", run_id=f"r-{n}", details={"n": n})
            for n in range(5)
        ]
    )
    yield opened
    opened.close()


def test_an_untouched_chain_verifies(store):
    result = store.verify()
    assert (result.ok, result.entries_checked) == (True, 5)
    entries = store.list(tenant="acme", run_id="", principal="", after=0, limit=10)
    assert [e.sequence for e in entries] == [1, 2, 3, 4, 5]
    assert all(b.previous_hash == a.hash for a, b in zip(entries, entries[1:], strict=False))


def test_updates_and_deletes_are_refused_by_sqlite(store, db_path):
    with sqlite3.connect(db_path) as conn, pytest.raises(sqlite3.IntegrityError, match="append"):
        conn.execute("UPDATE audit_entries SET principal = 'user:eve'")


@pytest.mark.parametrize(
    ("statements", "bad", "problem"),
    [
        (["UPDATE audit_entries SET details = '{\"n\": 99}' WHERE sequence = 3"], 3, "hash"),
        (["UPDATE audit_entries SET principal = 'user:eve' WHERE sequence = 1"], 1, "hash"),
        (["DELETE FROM audit_entries WHERE sequence = 2"], 2, "missing"),
        (
            [
                "UPDATE audit_entries SET sequence = 100 WHERE sequence = 2",
                "UPDATE audit_entries SET sequence = 2 WHERE sequence = 4",
                "UPDATE audit_entries SET sequence = 4 WHERE sequence = 100",
            ],
            2,
            "previous_hash",
        ),
        (["DELETE FROM audit_entries WHERE sequence >= 4"], 4, "head checkpoint records 5"),
        (["DELETE FROM audit_head"], 1, "head checkpoint is missing"),
    ],
    ids=["edit-details", "edit-principal", "delete", "reorder", "truncate", "drop-head"],
)
def test_tampering_is_found(store, db_path, statements, bad, problem):
    tamper(db_path, *statements)
    result = store.verify()
    assert not result.ok
    assert result.first_bad_sequence == bad
    assert problem in result.problem


def test_appends_continue_the_chain_after_reopening(store, db_path):
    reopened = SqliteAuditStore(db_path, SIGNER)
    (entry,) = reopened.append([AuditRecord("approval.decided", "acme", "user:bo")])
    assert entry.sequence == 6
    assert reopened.verify().ok
    reopened.close()


async def test_concurrent_appends_are_group_committed_into_one_chain(db_path):
    log = AuditLog(SqliteAuditStore(db_path, SIGNER))
    entries = await asyncio.gather(
        *(log.append(AuditRecord("policy.decision", "acme", f"user:{n}")) for n in range(50))
    )
    assert sorted(e.sequence for e in entries) == list(range(1, 51))
    result = await log.verify()
    assert (result.ok, result.entries_checked) == (True, 50)
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
def signed_one_by_one(db_path):
    """Five entries appended one at a time: one signed checkpoint each."""
    opened = SqliteAuditStore(db_path, SIGNER)
    for n in range(5):
        opened.append([AuditRecord("run.state_changed", "acme", f"user:{n}", details={"n": n})])
    yield opened
    opened.close()


def test_a_chain_rewritten_with_its_head_is_found_at_the_first_rewritten_entry(
    signed_one_by_one, db_path
):
    assert signed_one_by_one.verify().ok
    rewrite_chain(db_path, 3, {"n": 99})
    result = signed_one_by_one.verify()
    assert not result.ok
    assert result.first_bad_sequence == 3
    assert "rewritten" in result.problem and "signed checkpoint at entry 3" in result.problem


def test_a_forged_checkpoint_is_found(signed_one_by_one, db_path):
    tamper(
        db_path,
        "UPDATE audit_checkpoints SET signature = 'forged' WHERE count = 4",
    )
    result = signed_one_by_one.verify()
    assert (result.ok, result.first_bad_sequence) == (False, 4)
    assert "checkpoint of entry 4 is not signed" in result.problem


def test_entries_appended_without_the_key_are_found(signed_one_by_one, db_path):
    intruder = SqliteAuditStore(db_path, HeadSigner(b"the-intruders-own-key"))
    intruder.append([AuditRecord("approval.decided", "acme", "user:eve")])
    intruder.close()
    result = signed_one_by_one.verify()
    assert (result.ok, result.first_bad_sequence) == (False, 6)
    assert "not signed with the audit key" in result.problem
    tamper(
        db_path,
        "DELETE FROM audit_checkpoints WHERE count = 6",
    )
    result = signed_one_by_one.verify()
    assert (result.ok, result.first_bad_sequence) == (False, 6)
    assert "entries 6..6 are not covered by a signed checkpoint" in result.problem


def test_a_truncation_with_a_rewritten_head_is_found(signed_one_by_one, db_path):
    tamper(
        db_path,
        "DELETE FROM audit_entries WHERE sequence = 5",
        "UPDATE audit_head SET count = 4,"
        " hash = (SELECT hash FROM audit_entries WHERE sequence = 4)",
    )
    result = signed_one_by_one.verify()
    assert (result.ok, result.first_bad_sequence) == (False, 5)
    assert "signed checkpoint covers 5 entries but the log holds 4" in result.problem


def test_checkpoints_signed_with_another_key_do_not_verify(signed_one_by_one, db_path):
    other = SqliteAuditStore(db_path, HeadSigner(b"another-key"))
    result = other.verify()
    assert (result.ok, result.first_bad_sequence) == (False, 1)
    assert "not signed with the audit key" in result.problem
    other.close()
