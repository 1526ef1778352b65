"""PII: detection with checksums, normalization tricks with offsets mapped back, nested
JSON (values and member names), masking operators and the obligations of a decision."""

from __future__ import annotations

import pytest
from policy_helpers import HASH_KEY, check, codes, engine_for, user

from airspace.policy.engine import Masker, MaskOperator, Verdict
from airspace.policy.engine.pii.detectors import detect
from airspace.policy.engine.pii.scan import scan_json, scan_text

pytestmark = pytest.mark.unit


def found(text: str) -> list[tuple[str, str]]:
    return [(m.entity, m.text) for m in detect(text)]


@pytest.mark.parametrize(
    ("text", "entity", "value"),
    [
        ("write to ann.lee+news@example.co.uk today", "EMAIL", "ann.lee+news@example.co.uk"),
        ("call +44 20 7946 0958 now", "PHONE", "+44 20 7946 0958"),
        ("call +1 (202) 555-0143 now", "PHONE", "+1 (202) 555-0143"),
        ("call 0044 20 7946 0958 now", "PHONE", "0044 20 7946 0958"),
        ("tel. 01 23 45 67 89 (FR)", "PHONE", "01 23 45 67 89"),
        ("Tel 030/1234567", "PHONE", "030/1234567"),
        ("mobile 0612345678", "PHONE", "0612345678"),
        ("US office (555) 123-4567", "PHONE", "(555) 123-4567"),
        ("card 4111 1111 1111 1111 exp 12/29", "CREDIT_CARD", "4111 1111 1111 1111"),
        ("amex 378282246310005", "CREDIT_CARD", "378282246310005"),
        ("IBAN DE89 3704 0044 0532 0130 00 thanks", "IBAN", "DE89 3704 0044 0532 0130 00"),
        ("pay GB82WEST12345698765432", "IBAN", "GB82WEST12345698765432"),
        ("ssn 123-45-6789", "US_SSN", "123-45-6789"),
        ("from 192.168.10.201.", "IP_ADDRESS", "192.168.10.201"),
        ("key sk-proj-abcdefghijklmnopqrstuvwx1234 used", "API_KEY", "sk-proj-abcdefghijklmnopqrstuvwx1234"),
        ("aws AKIAIOSFODNN7EXAMPLE", "API_KEY", "AKIAIOSFODNN7EXAMPLE"),
        ("password: hunter2hunter2", "PASSWORD", "hunter2hunter2"),
    ],
)  # fmt: skip
def test_detects_entities(text, entity, value):
    assert found(text) == [(entity, value)]


def test_detects_pem_private_keys_whole():
    key = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\nq8Zr\n-----END RSA PRIVATE KEY-----"
    assert found(f"leaked:\n{key}\nbye") == [("PRIVATE_KEY", key)]


@pytest.mark.parametrize(
    "text",
    [
        "meeting on 2024-01-15, 15/01/2024 or 15.01.2024 at 10:30:00",
        "order 123456789, invoice 20240115, room 12345, year 2024",
        "card 4111 1111 1111 1112 fails Luhn",
        "IBAN DE89 3704 0044 0532 0130 01 fails mod 97",
        "ssn 000-12-3456 and 666-12-3456 are not issued",
        "version 1.2.3 and 999.1.1.1 and price 1,234.56",
    ],
)
def test_does_not_flag_dates_short_numbers_or_bad_checksums(text):
    assert found(text) == []


def test_zero_width_and_full_width_tricks_are_seen_and_mapped_back():
    # Full-width letters, a zero-width space, a full-width @ and full-width digits.
    text = "mail ｊo\u200bhn＠example.com or ０６ １２ ３４ ５６ ７８!"
    spans = scan_text(text)
    assert [(s.entity, s.value) for s in spans] == [
        ("EMAIL", "john@example.com"),
        ("PHONE", "06 12 34 56 78"),
    ]
    email, phone = spans
    assert text[email.start : email.end] == "ｊo\u200bhn＠example.com"
    assert text[phone.start : phone.end] == "０６ １２ ３４ ５６ ７８"


def test_every_string_of_nested_json_is_scanned_with_json_pointers():
    document = {
        "a": {"b": {"c": ["nothing here", "write to ann@example.com"]}},
        "ids/~x": "4111-1111-1111-1111",
        "contacts": {"bo@example.org": {"note": "ok"}},
        "count": 3,
    }
    spans = {(s.path, s.entity, s.start, s.end) for s in scan_json(document)}
    assert spans == {
        ("/a/b/c/1", "EMAIL", 9, 24),
        ("/ids~1~0x", "CREDIT_CARD", 0, 19),
        ("/contacts/bo@example.org/~k", "EMAIL", 0, 14),
    }


@pytest.mark.parametrize(
    ("entity", "operator", "value", "replacement"),
    [
        ("EMAIL", MaskOperator.REDACT, "john@example.com", "[EMAIL]"),
        ("EMAIL", MaskOperator.PARTIAL, "john@example.com", "j***@example.com"),
        ("PHONE", MaskOperator.PARTIAL, "+44 20 7946 0958", "+** ** **** **58"),
        ("CREDIT_CARD", MaskOperator.PARTIAL, "4111 1111 1111 1111", "**** **** **** 1111"),
        ("US_SSN", MaskOperator.PARTIAL, "123-45-6789", "***-**-6789"),
    ],
)
def test_masking_operators(entity, operator, value, replacement):
    assert Masker(HASH_KEY).replacement(entity, operator, value) == replacement


def test_hash_operator_is_keyed_short_and_stable_across_spellings():
    masker = Masker(HASH_KEY)
    hashed = masker.replacement("EMAIL", MaskOperator.HASH, "John@Example.com")
    assert hashed.startswith("[EMAIL:hmac:") and len(hashed) == len("[EMAIL:hmac:]") + 12
    assert hashed == masker.replacement("EMAIL", MaskOperator.HASH, "john@example.com")
    other_key = Masker(b"another-key").replacement("EMAIL", MaskOperator.HASH, "john@example.com")
    assert other_key != hashed


def test_step_input_masks_what_the_receiving_agent_is_not_cleared_for():
    engine = engine_for()
    payload = {"task": {"customer": {"contact": "ann@example.com, card 4111111111111111"}}}
    step = check("step.input", user("mesh"), kind="agent", name="billing", payload=payload)

    uncleared = engine.decide(step)
    assert uncleared.verdict == Verdict.ALLOW
    assert [(o.path, o.start, o.end, o.entity, o.replacement) for o in uncleared.obligations] == [
        ("/task/customer/contact", 0, 15, "EMAIL", "a***@example.com"),
        ("/task/customer/contact", 22, 38, "CREDIT_CARD", "************1111"),
    ]
    assert ("PII_MASKED", "pii:EMAIL") in codes(uncleared)
    assert ("PII_MASKED", "pii:CREDIT_CARD") in codes(uncleared)
    assert all("ann@" not in reason.message for reason in uncleared.reasons)

    cleared = engine.decide(
        check(
            "step.input",
            user("mesh"),
            payload=payload,
            clearances=("DATA_CLASS_FINANCIAL",),
        )
    )
    assert [o.entity for o in cleared.obligations] == ["EMAIL"]


def test_other_checkpoints_do_not_mask():
    engine = engine_for()
    decision = engine.decide(check("run.start", user("operator"), payload={"x": "ann@example.com"}))
    assert decision.obligations == ()


@pytest.mark.parametrize(
    ("roles", "masked"),
    [
        (("viewer",), ["US_SSN", "CREDIT_CARD"]),
        (("operator", "approver"), ["US_SSN", "CREDIT_CARD"]),
        (("auditor",), []),
        (("admin",), []),
    ],
)
def test_a_reader_sees_in_clear_only_the_data_classes_the_bundle_clears_their_roles_for(
    roles, masked
):
    payload = {"items": [{"input": {"text": "ssn 123-45-6789, card 4111 1111 1111 1111"}}]}
    decision = engine_for().decide(check("run.read", user(*roles), payload=payload))
    assert decision.verdict == Verdict.ALLOW
    assert [o.entity for o in decision.obligations] == masked


def test_a_role_clearance_never_reaches_past_what_the_bundle_names():
    payload = {"key": "sk-proj-abcdefghijklmnopqrstuvwx1234"}
    decision = engine_for().decide(check("run.read", user("admin"), payload=payload))
    assert [o.entity for o in decision.obligations] == ["API_KEY"], "secrets stay masked"
