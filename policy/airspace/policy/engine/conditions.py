"""CEL conditions: compiled when a bundle loads, evaluated against one check.

Every name an expression reads must be one of VARIABLES (or a macro's bound
variable), so a typo fails the bundle at load instead of denying at run time.
The activation is plain Python values (dicts, lists, str, float, bool, None).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

import cel

# What a rule can read; see decision.activation() for their shapes.
VARIABLES = frozenset(
    {"checkpoint", "subject", "resource", "payload", "clearances", "run_id", "step_key", "pii"}
)
_TYPE_NAMES = frozenset(
    {"bool", "bytes", "double", "int", "uint", "string", "list", "map", "null_type", "type"}
)
# The evaluator recurses over the expression natively: a very long chain of operators
# overflows its stack and ends the process, so longer sources are refused at compile.
MAX_SOURCE_CHARS = 4096
_POSITION = re.compile(r"<input>:(\d+):(\d+):")
# String literals are matched first so that text inside them is never read as a macro.
_MACRO_OR_STRING = re.compile(
    r"""
    (?:[rR][bB]?|[bB][rR])(?:'''.*?'''|\"\"\".*?\"\"\"|'[^'\n]*'|"[^"\n]*")
    | [bB]?(?:'''(?:\\.|.)*?'''|\"\"\"(?:\\.|.)*?\"\"\"|'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*")
    | //[^\n]*
    | \.\s*(?:all|exists_one|exists|map|filter)\s*\(\s*(?P<bound>[A-Za-z_][A-Za-z0-9_]*)\s*,
    """,
    re.VERBOSE | re.DOTALL,
)
# What the evaluator raises for an expression that cannot decide; anything else is a bug.
_EVALUATION_FAILURES = (LookupError, TypeError, ValueError, ArithmeticError, RuntimeError)


class Values:
    """Variables turned into the evaluator's values once, for every condition that reads
    them: the conversion, not the evaluation, is most of a condition's cost."""

    def __init__(self, plain: Mapping[str, Any] | None = None):
        self._context = cel.Context(dict(plain or {}))
        self._names = set(plain or ())

    def __contains__(self, name: str) -> bool:
        return name in self._names

    def add(self, name: str, value: Any) -> None:
        """`value` is plain JSON, every number a float (see activation.as_json_numbers)."""
        self._context.add_variable(name, value)
        self._names.add(name)


class ConditionError(ValueError):
    """The expression cannot be compiled (syntax, unknown variable)."""


class EvaluationError(Exception):
    """The expression failed at run time or did not return a bool."""


@dataclasses.dataclass(frozen=True)
class Condition:
    source: str
    variables: frozenset[str]  # the VARIABLES it reads, so callers build only those
    program: cel.Program = dataclasses.field(repr=False, compare=False)

    def evaluate(self, activation: Values | Mapping[str, Any]) -> bool:
        """Whether the expression holds for `activation` (Values, or plain values as
        Values.add takes them)."""
        context = activation._context if isinstance(activation, Values) else dict(activation)
        try:
            result = self.program.execute(context)
        except _EVALUATION_FAILURES as exc:
            raise EvaluationError(self._describe(exc)) from exc
        if not isinstance(result, bool):
            raise EvaluationError(f"returned {type(result).__name__}, not a bool")
        return result

    def _describe(self, error: Exception) -> str:
        """A message safe to put in a reason: the evaluator's messages may quote data, so
        only a field name that also appears in the expression itself is repeated."""
        if isinstance(error, KeyError):
            name = error.args[0] if error.args else None
            known = isinstance(name, str) and name and name in self.source
            return f"unknown field '{name}'" if known else "unknown field"
        if isinstance(error, TypeError):
            return "no matching overload (type mismatch)"
        return "evaluation error"


def compile_condition(source: str, variables: frozenset[str] = VARIABLES) -> Condition:
    """Compiles an expression that may read only `variables` (policy rules by default;
    the router passes its own set for routing conditions)."""
    if not isinstance(source, str) or not source.strip():
        raise ConditionError("must be a non-empty CEL expression")
    if len(source) > MAX_SOURCE_CHARS:
        raise ConditionError(f"longer than {MAX_SOURCE_CHARS} characters")
    try:
        program = cel.compile(source)
    except ValueError as exc:
        raise ConditionError(_syntax_error(str(exc))) from exc
    names = set(program.variables())
    unknown = sorted(names - variables - _TYPE_NAMES - _macro_variables(source))
    if unknown:
        allowed = ", ".join(sorted(variables))
        raise ConditionError(f"unknown variable '{unknown[0]}' (allowed: {allowed})")
    return Condition(source, frozenset(names & variables), program)


def _syntax_error(message: str) -> str:
    """Where the parser stopped, without its message (which repeats the source)."""
    position = _POSITION.search(message)
    if position is None:
        return "syntax error"
    return f"syntax error at line {position.group(1)}, column {position.group(2)}"


def _macro_variables(source: str) -> set[str]:
    """The names bound by macros (`x` in `list.exists(x, ...)`): the compiled program
    reports them among the variables it reads."""
    return {m["bound"] for m in _MACRO_OR_STRING.finditer(source) if m["bound"]}
