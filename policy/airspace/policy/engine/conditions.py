"""CEL conditions: compiled when a bundle loads, evaluated against one check.

Every name an expression reads must be one of VARIABLES (or a macro's bound
variable), so a typo fails the bundle at load instead of denying at run time.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping

import celpy
import lark
from celpy import celtypes

# What a rule can read; see decision.activation() for their shapes.
VARIABLES = frozenset(
    {"checkpoint", "subject", "resource", "payload", "clearances", "run_id", "step_key", "pii"}
)
_TYPE_NAMES = frozenset(
    {"bool", "bytes", "double", "int", "uint", "string", "list", "map", "null_type", "type"}
)
_MACROS = frozenset({"all", "exists", "exists_one", "map", "filter"})
_QUOTED = re.compile(r"'([^']*)'")

# One environment: the parser is built once and shared by every expression.
_ENVIRONMENT = celpy.Environment()


class ConditionError(ValueError):
    """The expression cannot be compiled (syntax, unknown variable)."""


class EvaluationError(Exception):
    """The expression failed at run time or did not return a bool."""


@dataclasses.dataclass(frozen=True)
class Condition:
    source: str
    variables: frozenset[str]  # the VARIABLES it reads, so callers build only those
    program: celpy.Runner = dataclasses.field(repr=False, compare=False)

    def evaluate(self, activation: Mapping[str, celtypes.Value]) -> bool:
        try:
            result = self.program.evaluate(dict(activation))
        except celpy.CELEvalError as exc:
            raise EvaluationError(self._describe(exc)) from exc
        if isinstance(result, celpy.CELEvalError):
            raise EvaluationError(self._describe(result))
        if not isinstance(result, bool | celtypes.BoolType):
            raise EvaluationError(f"returned {type(result).__name__}, not a bool")
        return bool(result)

    def _describe(self, error: celpy.CELEvalError) -> str:
        """A message safe to put in a reason: CEL errors may quote data, so only a
        field name that also appears in the expression itself is repeated."""
        message = str(error.args[0]) if error.args else ""
        cause = error.args[1] if len(error.args) > 1 else None
        if cause is KeyError:
            quoted = _QUOTED.search(message)
            name = quoted.group(1) if quoted else ""
            return f"unknown field '{name}'" if name and name in self.source else "unknown field"
        if cause is TypeError:
            return "no matching overload (type mismatch)"
        return "evaluation error"


def compile_condition(source: str, variables: frozenset[str] = VARIABLES) -> Condition:
    """Compiles an expression that may read only `variables` (policy rules by default;
    the router passes its own set for routing conditions)."""
    if not isinstance(source, str) or not source.strip():
        raise ConditionError("must be a non-empty CEL expression")
    try:
        ast = _ENVIRONMENT.compile(source)
    except celpy.CELParseError as exc:
        raise ConditionError(f"syntax error at line {exc.line}, column {exc.column}") from exc
    names = _free_names(ast)
    unknown = sorted(names - variables - _TYPE_NAMES)
    if unknown:
        allowed = ", ".join(sorted(variables))
        raise ConditionError(f"unknown variable '{unknown[0]}' (allowed: {allowed})")
    return Condition(source, frozenset(names & variables), _ENVIRONMENT.program(ast))


def _free_names(ast: lark.Tree) -> set[str]:
    """Identifiers read by the expression, minus variables bound by macros."""
    names: set[str] = set()
    bound: set[str] = set()
    for node in ast.iter_subtrees():
        if node.data == "ident":
            names.add(str(node.children[0]))
        elif node.data == "member_dot_arg" and str(node.children[1]) in _MACROS:
            bound.update(_bound_variable(node.children[2]))
    return names - bound


def _bound_variable(arguments) -> set[str]:
    if not isinstance(arguments, lark.Tree) or not arguments.children:
        return set()
    first = arguments.children[0]
    idents = [n for n in first.iter_subtrees() if n.data == "ident"]
    return {str(idents[0].children[0])} if len(idents) == 1 else set()
