"""One PII scan per check: the engine's scan covers the payload and the caller's texts
the audit record keeps, and the audit record is masked from its findings exactly as a
scan of its own would mask it."""

from __future__ import annotations

import base64

import pytest
from policy_helpers import check, engine_for, user

from airspace.policy.audit import records
from airspace.policy.engine import decision as decision_module
from airspace.policy.engine.model import CheckInput, caller_texts
from airspace.policy.engine.pii import scan
from airspace.policy.obligations import apply_obligations

pytestmark = pytest.mark.unit

ENCODED_EMAIL = base64.b64encode(b"mail ann@example.com").decode()
CASES = {
    "email-in-the-name": check("step.input", user("agent"), name="bob@example.com"),
    "split-across-kind-and-name": check(
        "step.output", user("agent"), kind="ann.lee", name="@example.com"
    ),
    "phone-in-a-denied-check": check("run.start", user("viewer"), name="call +44 20 7946 0958"),
    "unknown-checkpoint": check("no.such", user("agent"), name="ann@example.com"),
    "payload-and-name": check(
        "step.input",
        user("agent"),
        name="ann@example.com",
        payload={"note": "mail ann@example.com", "card": "4111 1111 1111 1111"},
    ),
}


def with_step_key(case: CheckInput, step_key: str) -> CheckInput:
    return CheckInput(**{**case.__dict__, "step_key": step_key})


CASES["encoded-step-key"] = with_step_key(CASES["email-in-the-name"], f"r-1/{ENCODED_EMAIL}/1")


def masked_by_a_scan_of_its_own(case: CheckInput) -> dict:
    """How the audit record was masked before: a scan of the caller's texts, each span
    checked again as it is replaced."""
    texts = caller_texts(case)
    return apply_obligations(texts, engine_for().masker.hash_masks(scan.scan_json(texts)))


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_the_audit_record_is_masked_exactly_as_before(case):
    engine = engine_for()
    record = records.decision_record(case, engine.decide(case), engine.masker)
    expected = masked_by_a_scan_of_its_own(case)
    assert {key: record.details[key] for key in expected} == expected


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_each_check_is_scanned_once(case, monkeypatch):
    scans = []

    def counted(document):
        scans.append(document)
        return scan.scan_json(document)

    def refused(*_args):
        raise AssertionError("scanned a second time")

    monkeypatch.setattr(decision_module, "scan_json", counted)
    monkeypatch.setattr(records, "scan_json", refused)
    monkeypatch.setattr("airspace.policy.obligations.is_entity", refused)
    monkeypatch.setattr("airspace.policy.obligations.holds", refused)
    engine = engine_for()
    decision = engine.decide(case)
    records.decision_record(case, decision, engine.masker)
    assert len(scans) == 1


def test_the_payload_findings_keep_their_paths_and_decide_as_before():
    engine = engine_for()
    case = CASES["payload-and-name"]
    decision = engine.decide(case)
    assert [(o.path, o.entity) for o in decision.obligations] == [
        ("/note", "EMAIL"),
        ("/card", "CREDIT_CARD"),
    ]
    assert apply_obligations(dict(case.payload), decision.obligations) == {
        "note": "mail a***@example.com",
        "card": "**** **** **** 1111",
    }


def test_a_failed_evaluation_still_masks_the_audit_record(monkeypatch):
    engine = engine_for()

    def broken(_check):
        raise RuntimeError("boom")

    monkeypatch.setattr(engine, "_evaluate", broken)
    case = CASES["email-in-the-name"]
    decision = engine.decide(case)
    assert decision.caller_masks is None
    record = records.decision_record(case, decision, engine.masker)
    assert record.details["resource"] == masked_by_a_scan_of_its_own(case)["resource"]
    assert record.details["resource"]["name"].startswith("[EMAIL:hmac:")
