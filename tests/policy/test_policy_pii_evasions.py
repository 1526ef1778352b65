"""PII hidden from a per-string scan: base64-wrapped (nested too) and split across sibling
strings. Both are found, masked for an agent without clearance, and re-checked before masking."""

from __future__ import annotations

import base64
import json

import pytest
from policy_helpers import check, engine_for, user

from airspace.policy.engine import MaskScope, Verdict
from airspace.policy.engine.pii.scan import scan_json, scan_text
from airspace.policy.obligations import ObligationError, apply_obligations

pytestmark = pytest.mark.unit

EMAIL = "grace.hopper@example.com"
PEM = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----"


def b64(text: str, alphabet=base64.b64encode) -> str:
    return alphabet(text.encode()).decode()


def masked_for_an_uncleared_agent(payload: dict, checkpoint="step.input"):
    decision = engine_for().decide(check(checkpoint, user("mesh"), payload=payload))
    return decision, apply_obligations(payload, decision.obligations)


@pytest.mark.parametrize(
    "wrapped",
    [
        b64(f"reach me at {EMAIL}"),
        b64(f"reach me at {EMAIL}??", base64.urlsafe_b64encode).rstrip("="),
        b64(b64(json.dumps({"contact": EMAIL}))),
    ],
    ids=["standard", "url-safe-unpadded", "json-in-base64-in-base64"],
)
def test_base64_wrapped_pii_is_found_and_masked_whole(wrapped):
    text = f"attachment: {wrapped} (see above)"
    [span] = scan_text(text)
    assert (span.entity, span.scope, span.start, span.end) == (
        "EMAIL",
        MaskScope.ENCODED,
        len("attachment: "),
        len("attachment: ") + len(wrapped),
    )
    _, masked = masked_for_an_uncleared_agent({"text": text})
    assert masked["text"] == "attachment: g***@example.com (see above)"


def test_every_entity_inside_an_encoded_span_counts_for_rules_and_clearances():
    output = {"text": "key: " + b64(f"{EMAIL}\n{PEM}")}
    decision = engine_for().decide(check("step.output", user("mesh"), payload=output))
    assert decision.verdict == Verdict.DENY  # no-private-keys-in-output reads `pii`
    assert "SECRET_IN_OUTPUT" in [reason.code for reason in decision.reasons]
    cleared_for_pii = engine_for().decide(
        check("step.input", user("mesh"), payload=output, clearances=("DATA_CLASS_PII",))
    )
    [obligation] = cleared_for_pii.obligations
    assert obligation.entity == "PRIVATE_KEY" and obligation.replacement == "[PRIVATE_KEY]"


@pytest.mark.parametrize(
    "text",
    [
        "sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "id 3f2b6c1e-8d4a-4f7b-9c2e-1a5d7e9b0c3f and internationalization",
        "token tok_0123456789abcdef0123456789abcdef",
        b64("no personal data in here at all"),
    ],
)
def test_ordinary_base64_like_text_is_left_alone(text):
    assert scan_text(text) == []


def test_pii_split_across_sibling_strings_three_levels_deep_is_masked_piece_by_piece():
    payload = {
        "order": {
            "customer": {
                "contact": {"user": "grace.hopper", "domain": "@example.com"},
                "card": ["4111 1111", "1111 1111"],
                "note": "fine",
            }
        }
    }
    spans = scan_json(payload)
    assert [(s.path, s.entity, s.scope, s.piece) for s in spans] == [
        ("/order/customer/contact/user", "EMAIL", MaskScope.FRAGMENT, 0),
        ("/order/customer/contact/domain", "EMAIL", MaskScope.FRAGMENT, 1),
        ("/order/customer/card/0", "CREDIT_CARD", MaskScope.FRAGMENT, 0),
        ("/order/customer/card/1", "CREDIT_CARD", MaskScope.FRAGMENT, 1),
    ]
    decision, masked = masked_for_an_uncleared_agent(payload)
    customer = masked["order"]["customer"]
    assert customer["contact"] == {"user": "g***@example.com", "domain": ""}
    assert customer["card"] == ["**** ******** 1111", ""]  # the joined value's partial form
    assert customer["note"] == "fine"
    counts = [r.message for r in decision.reasons if r.code == "PII_MASKED"]
    assert counts == [
        "1 CREDIT_CARD span(s) masked: the receiver lacks DATA_CLASS_FINANCIAL",
        "1 EMAIL span(s) masked: the receiver lacks DATA_CLASS_PII",
    ]


def test_object_members_join_in_any_order_array_items_only_in_sequence():
    # A protobuf Struct does not keep member order: the domain may well come first.
    reordered = scan_json({"domain": "@example.com", "n": 3, "user": "grace.hopper"})
    assert [(s.path, s.piece) for s in reordered] == [("/user", 0), ("/domain", 1)]
    assert scan_json(["grace.hopper", 3, "@example.com"]) == []
    assert scan_json({"user": "grace.hopper", "x": {"domain": "@example.com"}}) == []


def test_an_encoded_span_that_changed_since_the_check_is_refused():
    text = "blob " + b64(f"mail {EMAIL}")
    decision = engine_for().decide(check("step.input", user("mesh"), payload={"text": text}))
    changed = {"text": "blob " + b64("mail " + "x" * len(EMAIL))}
    assert len(changed["text"]) == len(text)
    with pytest.raises(ObligationError, match="changed"):
        apply_obligations(changed, decision.obligations)
