"""Step keys are stored forms: journals, events and approvals of existing runs are filed
under their text, so every kind of key must keep spelling itself the same way."""

import pytest

from airspace.router.step_key import StepKey

pytestmark = pytest.mark.unit


def test_every_kind_of_key_keeps_its_stored_spelling():
    turn = StepKey.turn(12)
    assert [
        str(StepKey.step(3, "draft")),
        str(StepKey.hop(2, "billing")),
        str(StepKey.branch("legal")),
        str(StepKey.named("fan-out")),
        str(turn),
        str(turn.by("critic")),
        str(turn.selection()),
        str(turn.by("chair").decision()),
    ] == [
        "s0003-draft",
        "h0002-billing",
        "branch-legal",
        "fan-out",
        "t0012",
        "t0012-critic",
        "t0012-select",
        "t0012-chair-decision",
    ]


def test_derived_keys_keep_their_stored_spelling():
    step = StepKey.step(1, "pay")
    assert [
        str(step.retry(2)),
        str(step.retry(1).review()),
        str(step.before()),
        str(step.input()),
        str(step.edited()),
        str(step.review().escalated()),
        str(step.actions()),
        str(step.action("a1", "0123456789abcdef")),
    ] == [
        "s0001-pay-retry2",
        "s0001-pay-retry1-review",
        "s0001-pay-before",
        "s0001-pay-input",
        "s0001-pay-edited",
        "s0001-pay-review-escalated",
        "s0001-pay-action-",
        "s0001-pay-action-a1-0123456789abcdef",
    ]
