"""apply_obligations on proto Obligation messages: exact masking or a clear refusal."""

from __future__ import annotations

import pytest
from policy_helpers import check, engine_for, user

from airspace.policy.obligations import ObligationError, apply_obligations
from airspace.policy.v1 import policy_pb2

pytestmark = pytest.mark.unit


def mask(path: str, start: int, end: int, entity: str, replacement: str):
    return policy_pb2.Obligation(
        mask=policy_pb2.MaskObligation(
            path=path,
            start=start,
            end=end,
            entity=entity,
            operator=policy_pb2.MASK_OPERATOR_REDACT,
            replacement=replacement,
        )
    )


def test_masks_values_and_member_names_three_levels_deep_without_touching_the_input():
    payload = {
        "a": {"b": {"c": ["mail ｊo\u200bhn＠example.com or +44 20 7946 0958"]}},
        "people": {"bo@example.org": {"ssn": "123-45-6789"}},
    }
    decision = engine_for().decide(check("step.output", user("mesh"), payload=payload))
    obligations = [
        mask(o.path, o.start, o.end, o.entity, o.replacement) for o in decision.obligations
    ]
    masked = apply_obligations(payload, obligations)
    assert masked == {
        "a": {"b": {"c": ["mail j***@example.com or +** ** **** **58"]}},
        "people": {"b***@example.org": {"ssn": "[US_SSN]"}},
    }
    assert payload["a"]["b"]["c"][0].startswith("mail ｊo")


@pytest.mark.parametrize(
    ("obligation", "problem"),
    [
        (mask("/missing", 0, 3, "EMAIL", "[EMAIL]"), "no member 'missing'"),
        (mask("/notes/7", 0, 3, "EMAIL", "[EMAIL]"), "no element '7'"),
        (mask("/notes/0", 5, 99, "EMAIL", "[EMAIL]"), "out of range"),
        (mask("/notes/0", 0, 5, "EMAIL", "[EMAIL]"), "changed"),
        (mask("/count", 0, 1, "EMAIL", "[EMAIL]"), "not a string"),
        (mask("notes", 0, 1, "EMAIL", "[EMAIL]"), "must start with '/'"),
        (policy_pb2.Obligation(), "unsupported kind"),
    ],
)
def test_refuses_what_it_cannot_apply(obligation, problem):
    payload = {"notes": ["mail ann@example.com"], "count": 2}
    with pytest.raises(ObligationError, match=problem):
        apply_obligations(payload, [obligation])


def test_refuses_a_span_whose_text_changed_since_the_check():
    decision = engine_for().decide(
        check("step.input", user("mesh"), payload={"note": "mail ann@example.com"})
    )
    edited = {"note": "mail ann@example.c0m"}
    with pytest.raises(ObligationError, match="changed"):
        apply_obligations(edited, decision.obligations)


def test_a_payload_that_shares_one_dict_under_two_paths_is_masked_at_both():
    from airspace.policy.engine.model import MaskObligation, MaskOperator

    shared = {"email": "ann@example.com"}
    payload = {"input": shared, "context": [shared]}
    obligations = [
        MaskObligation(path, 0, 15, "EMAIL", MaskOperator.REDACT, "[EMAIL]")
        for path in ("/input/email", "/context/0/email")
    ]
    masked = apply_obligations(payload, obligations)
    assert masked == {"input": {"email": "[EMAIL]"}, "context": [{"email": "[EMAIL]"}]}
    assert shared == {"email": "ann@example.com"}
