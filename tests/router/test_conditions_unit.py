"""Routing conditions over a run's data: plain JSON values, and an error that fails the
step with CONDITION_ERROR without quoting the data."""

from __future__ import annotations

import pytest

from airspace.mesh.reasons import Reason
from airspace.policy.engine.conditions import compile_condition
from airspace.router.conditions import holds
from airspace.router.run_context import RunFailure

pytestmark = pytest.mark.unit

VARIABLES = frozenset({"input", "output", "round"})


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("output.data.total > 1000", True),
        ("output.data.total == 1500", True),
        ("round == 0 && output.data.tags.exists(t, t == 'urgent')", True),
        ("'urgent' in output.data.tags && !has(output.data.refund)", True),
        ("output.data.total <= 1000.0", False),
    ],
)
def test_a_condition_decides_over_plain_json(source, expected):
    values = {"output": {"data": {"total": 1500.0, "tags": ["urgent"]}}, "round": 0}
    assert holds(compile_condition(source, VARIABLES), values, "steps[0].when") is expected


def test_a_failing_condition_fails_the_step_naming_where_but_not_the_data():
    condition = compile_condition("output.data.secret + 1.0 > 0.0", VARIABLES)
    with pytest.raises(RunFailure) as raised:
        holds(condition, {"output": {"data": {"secret": "hunter2"}}}, "steps[2].when", "s-2")
    failure = raised.value
    assert (failure.code, failure.step_key) == (Reason.CONDITION_ERROR, "s-2")
    assert failure.message == (
        "the condition at steps[2].when ('output.data.secret + 1.0 > 0.0') failed: "
        "no matching overload (type mismatch)"
    )
