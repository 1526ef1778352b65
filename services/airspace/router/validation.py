"""A step's output contract, checked before the workflow advances: a size limit, a JSON
Schema over the output's data, and CEL rules over the whole output that must hold.

Problems name the check that failed (`output_schema at /total: type "number"`,
`output_rules[1]: total must be positive`) but never quote the output itself: it may
hold PII, and problems travel into run events, errors and logs. Any PII that an
instance path still carries (a member name, say) is redacted.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import jsonschema
from jsonschema import validators
from jsonschema.protocols import Validator

from airspace.policy.engine import pointer
from airspace.policy.engine.conditions import Condition, EvaluationError, Values
from airspace.policy.engine.pii.scan import scan_text
from airspace.router.payload import Payload

# Generous for structured output, small enough that policy never scans megabytes per step.
DEFAULT_MAX_OUTPUT_BYTES = 1024 * 1024
# Protobuf refuses messages nested deeper than 100 levels; one JSON level costs three
# (Struct, map entry, Value), and on its way to policy and agents a run's input travels
# wrapped a few levels deeper: deeper input could not reach them (airspace.mesh.json_values).
MAX_INPUT_DEPTH = 24
# What output rules may read: {"text", "data", "confidence"} of the step's output.
RULE_VARIABLES = frozenset({"output"})
_MAX_PROBLEMS = 5


class SchemaProblem(ValueError):
    """The document's output_schema is not a valid JSON Schema."""


@dataclasses.dataclass(frozen=True)
class OutputRule:
    when: Condition  # must hold
    message: str  # said when it does not


@dataclasses.dataclass(frozen=True)
class OutputContract:
    schema: dict[str, Any] | None = None
    validator: Validator | None = dataclasses.field(default=None, repr=False, compare=False)
    rules: tuple[OutputRule, ...] = ()
    max_bytes: int = DEFAULT_MAX_OUTPUT_BYTES
    # Ask the agent again, told what was wrong, within the step's retry attempts.
    retry_invalid: bool = False


def compile_schema(schema: Any) -> Validator:
    """A validator for `schema` (its $schema draft, 2020-12 by default), formats asserted;
    SchemaProblem says where the schema is wrong."""
    if not isinstance(schema, dict):
        raise SchemaProblem("must be a JSON Schema object")
    cls = validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    try:
        cls.check_schema(schema)
    except jsonschema.SchemaError as exc:
        where = exc.json_path.removeprefix("$").lstrip(".") or "its top"
        raise SchemaProblem(f"not a valid JSON Schema at {where}: {exc.message}") from exc
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def output_problems(contract: OutputContract, payload: Payload) -> str:
    """What is wrong with a step's output, or "" when nothing."""
    output = payload.to_dict()
    size = len(json.dumps(output, separators=(",", ":"), ensure_ascii=False).encode())
    if size > contract.max_bytes:
        return f"the output is {size} bytes, over max_output_bytes ({contract.max_bytes})"
    problems = []
    if contract.validator is not None:
        for error in contract.validator.iter_errors(payload.data):
            where = pointer.join(error.absolute_path) or "/"  # a JSON pointer into data
            problems.append(f"output_schema at {where}: {_failed(error)}")
    activation = Values({"output": output} if contract.rules else {})
    for index, rule in enumerate(contract.rules):
        try:
            if rule.when.evaluate(activation):
                continue
            problems.append(f"output_rules[{index}]: {rule.message}")
        except EvaluationError as exc:
            problems.append(f"output_rules[{index}]: {rule.message} (the rule failed: {exc})")
    problems = list(dict.fromkeys(problems))  # `required` fails once per missing member
    shown = "; ".join(problems[:_MAX_PROBLEMS])
    if len(problems) > _MAX_PROBLEMS:
        shown += f"; and {len(problems) - _MAX_PROBLEMS} more"
    return _redacted(shown)


def _failed(error: jsonschema.ValidationError) -> str:
    """The keyword that failed and what the schema asked for (the schema's text, never the
    output's; `required` names only the missing members the schema lists)."""
    required = error.validator_value
    if error.validator == "required" and isinstance(error.instance, dict):
        assert isinstance(required, list), "a checked schema's `required` is a list"
        missing = [name for name in required if name not in error.instance]
        return f"required {', '.join(map(repr, missing))} missing"
    wanted = json.dumps(error.validator_value, ensure_ascii=False)
    if len(wanted) > 80:
        wanted = wanted[:77] + "..."
    return f"{error.validator} {wanted}"


def _redacted(text: str) -> str:
    for span in sorted(scan_text(text), key=lambda span: span.start, reverse=True):
        text = text[: span.start] + f"[{span.entity}]" + text[span.end :]
    return text
