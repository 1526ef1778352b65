"""CEL conditions: what compiles, what a rule reads, how numbers compare, and errors that
never quote the data they failed on."""

from __future__ import annotations

import pytest
from policy_helpers import check, user

from airspace.policy.engine.activation import Activation, as_json_numbers
from airspace.policy.engine.conditions import (
    MAX_SOURCE_CHARS,
    ConditionError,
    EvaluationError,
    Values,
    compile_condition,
)

pytestmark = pytest.mark.unit

SECRET = "hunter2-s3cret"


def holds(source: str, **values) -> bool:
    return compile_condition(source).evaluate(values)


def failure(source: str, **values) -> str:
    with pytest.raises(EvaluationError) as raised:
        holds(source, **values)
    return str(raised.value)


@pytest.mark.parametrize(
    "source",
    [
        "payload.count == 3",
        "payload.count == 3.0",
        "payload.count > 2 && payload.count < 3.5",
        "payload.count in [1, 2, 3]",
        "payload.count + 1.0 == 4.0",
        "payload.items.exists(i, i == 2)",
    ],
)
def test_an_int_from_a_caller_and_a_double_from_a_struct_decide_the_same(source):
    in_process = {"count": 3, "items": [1, 2]}
    over_grpc = {"count": 3.0, "items": [1.0, 2.0]}
    assert holds(source, payload=as_json_numbers(in_process))
    assert holds(source, payload=as_json_numbers(over_grpc))


def test_the_activation_gives_a_rule_every_number_as_a_double():
    activation = Activation(check("run.start", user("operator"), payload={"n": 2}), ())
    condition = compile_condition("payload.n * 2.0 == 4.0 && subject.kind == 'user'")
    assert condition.evaluate(activation.values(condition.variables))


def test_values_converted_once_serve_every_condition_and_grow():
    values = Values({"subject": {"kind": "user"}})
    assert "subject" in values and "pii" not in values
    assert compile_condition("subject.kind == 'user'").evaluate(values)
    values.add("pii", ["EMAIL"])
    assert compile_condition("subject.kind == 'user' && 'EMAIL' in pii").evaluate(values)
    assert not compile_condition("subject.kind == 'agent'").evaluate(values)


@pytest.mark.parametrize(
    "source",
    [
        'payload.name.startsWith("pay") && payload.name.contains("ment")',
        'payload.name.matches("^pay[a-z]+s$") && size(payload.name) == 8',
        '"admin" in subject.roles && !("root" in subject.roles)',
        '"name" in payload && !("other" in payload)',
        "has(payload.name) && !has(payload.other)",
        'subject.roles.exists(r, r == "admin")',
        'subject.roles.all(r, r.size() > 3) && subject.roles.exists_one(r, r == "ops1")',
        'subject.roles.map(r, r + "!") == ["admin!", "ops1!"]',
        'subject.roles.filter(r, r.startsWith("o")) == ["ops1"]',
        "subject.roles.exists(r, [r].all(s, s == r)) && (size(payload) > 0 ? true : false)",
        'timestamp("2025-01-01T00:00:00Z") + duration("90m") > timestamp("2025-01-01T01:00:00Z")',
    ],
)
def test_the_features_rules_use(source):
    assert holds(source, payload={"name": "payments"}, subject={"roles": ["admin", "ops1"]})


def test_a_condition_reads_only_the_variables_it_names_not_macro_bound_ones():
    condition = compile_condition("subject.roles.exists(r, r == 'admin') && pii.all(e, e != '')")
    assert condition.variables == {"subject", "pii"}


@pytest.mark.parametrize(
    ("source", "unknown"),
    [
        ("subjet.kind == 'agent'", "subjet"),
        ("subject.roles.exists(r, rr == 'admin')", "rr"),
        # A macro's text inside a string literal binds nothing.
        ("payload.s == '.exists(zz, ' && zz", "zz"),
        ('payload.s == r"\\" && zz', "zz"),
    ],
)
def test_an_unknown_variable_fails_at_compile(source, unknown):
    with pytest.raises(ConditionError, match=f"^unknown variable '{unknown}' \\(allowed: "):
        compile_condition(source)


def test_a_syntax_error_says_where_without_repeating_the_expression():
    with pytest.raises(ConditionError) as raised:
        compile_condition(f"payload.x == '{SECRET}' &&")
    assert str(raised.value) == "syntax error at line 1, column 33"


@pytest.mark.parametrize("source", ["", "   ", None, 3])
def test_an_empty_or_non_text_expression_is_refused(source):
    with pytest.raises(ConditionError, match="non-empty CEL expression"):
        compile_condition(source)


def test_an_expression_past_the_length_limit_is_refused_before_parsing():
    with pytest.raises(ConditionError, match=f"longer than {MAX_SOURCE_CHARS} characters"):
        compile_condition(" + ".join(["1.0"] * MAX_SOURCE_CHARS) + " > 0.0")


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("payload.missing == 'x'", "unknown field 'missing'"),
        ("payload[payload.key] == 'x'", "unknown field"),
        ("payload.key + 1.0 == 2.0", "no matching overload (type mismatch)"),
        ("int(payload.key) == 1", "evaluation error"),
        ("payload.key.matches(payload.pattern)", "evaluation error"),
        ("payload.items[7] == 1.0", "evaluation error"),
        ("payload.key", "returned str, not a bool"),
    ],
)
def test_errors_never_quote_the_data(source, message):
    payload = {"key": SECRET, "pattern": f"[{SECRET}", "items": [1.0]}
    assert failure(source, payload=payload) == message
