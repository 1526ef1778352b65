"""The hash-chained audit log: appends, masking, and tampering found by verify.

Tampering goes straight at the SQLite file, as an attacker with file access would:
drop the append-only triggers, then edit, delete, reorder or truncate."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from policy_helpers import HASH_KEY, check, engine_for, user

from policy.audit.chain import AuditRecord
from policy.audit.log import AuditLog
from policy.audit.records import decision_record, masked_details
from policy.audit.store import SqliteAuditStore
from policy.engine import Masker


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "audit.db"


@pytest.fixture
def store(db_path):
    opened = SqliteAuditStore(db_path)
    opened.append(
        [
            AuditRecord("run.state_changed", "acme", f"user:{n}", run_id=f"r-{n}", details={"n": n})
            for n in range(5)
        ]
    )
    yield opened
    opened.close()


def tamper(db_path, *statements: str) -> None:
    with sqlite3.connect(db_path) as conn:
        conn.execute("DROP TRIGGER audit_entries_no_update")
        conn.execute("DROP TRIGGER audit_entries_no_delete")
        for statement in statements:
            conn.execute(statement)


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
    reopened = SqliteAuditStore(db_path)
    (entry,) = reopened.append([AuditRecord("approval.decided", "acme", "user:bo")])
    assert entry.sequence == 6
    assert reopened.verify().ok
    reopened.close()


async def test_concurrent_appends_are_group_committed_into_one_chain(db_path):
    log = AuditLog(SqliteAuditStore(db_path))
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
