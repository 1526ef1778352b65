"""Every reason the hand-written code gives is in the catalogue, and the router names
its reasons by their Reason member, never by a string literal."""

from __future__ import annotations

import ast
import pathlib
import re
from collections.abc import Iterator

import pytest

from airspace.mesh.reasons import Reason

pytestmark = pytest.mark.unit

ROOT = pathlib.Path(__file__).resolve().parents[2]
SOURCES = ("services", "gateway", "policy", "agents")
ROUTER = "services/airspace/router/"
_REASON_LIKE = re.compile(r"^[A-Z][A-Z0-9_]*$")
# Attributes that hold a reason: RunFailure.code, Attempt.failure_code, MeshError.reason.
_REASON_ATTRIBUTES = {"code", "failure_code", "reason"}


def reason_literals(tree: ast.Module) -> Iterator[tuple[int, str]]:
    """(line, text) of each string literal (or module constant) in a reason position:
    the code of RunFailure(...), a `reason=` argument, a value set to or compared with a
    reason attribute, or a key of a table looked up by one."""
    constants = _module_constants(tree)
    tables = _module_tables(tree)

    def text(node: ast.AST) -> str | None:
        if isinstance(node, ast.Name):
            return constants.get(node.id)
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        return None

    def found(*nodes: ast.AST) -> Iterator[tuple[int, str]]:
        for node in nodes:
            value = text(node)
            if value is not None and _REASON_LIKE.match(value):
                yield node.lineno, value

    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            if _name(node.func) == "RunFailure":
                yield from found(
                    *node.args[1:2], *(k.value for k in node.keywords if k.arg == "code")
                )
            yield from found(*(k.value for k in node.keywords if k.arg == "reason"))
            if _name(node.func) == "get" and node.args and _is_reason_attribute(node.args[0]):
                yield from found(*tables.get(_name(node.func.value) or "", []))
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                yield from found(*_assigned_to_reasons(target, node.value))
        elif isinstance(node, ast.Compare) and _is_reason_attribute(node.left):
            yield from found(*node.comparators)


def _module_constants(tree: ast.Module) -> dict[str, str]:
    return {
        target.id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
        for target in node.targets
        if isinstance(target, ast.Name) and isinstance(node.value.value, str)
    }


def _module_tables(tree: ast.Module) -> dict[str, list[ast.AST]]:
    return {
        target.id: [key for key in node.value.keys if key is not None]
        for node in tree.body
        if isinstance(node, ast.Assign | ast.AnnAssign) and isinstance(node.value, ast.Dict)
        for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
        if isinstance(target, ast.Name)
    }


def _assigned_to_reasons(target: ast.AST, value: ast.AST) -> list[ast.AST]:
    if isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple):
        return [
            v
            for t, v in zip(target.elts, value.elts, strict=False)
            if _is_reason_attribute(t, {"failure_code"})
        ]
    return [value] if _is_reason_attribute(target, {"failure_code"}) else []


def _is_reason_attribute(node: ast.AST, names: set[str] = _REASON_ATTRIBUTES) -> bool:
    return isinstance(node, ast.Attribute) and node.attr in names


def _name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def literals_by_file() -> dict[str, list[tuple[int, str]]]:
    found = {}
    for folder in SOURCES:
        for path in sorted((ROOT / folder).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            literals = sorted(reason_literals(ast.parse(path.read_text(), relative)))
            if literals:
                found[relative] = literals
    return found


def test_every_reason_given_anywhere_is_in_the_catalogue():
    outside = [
        f"{path}:{line}: {text}"
        for path, literals in literals_by_file().items()
        for line, text in literals
        if text not in Reason.__members__
    ]
    assert outside == [], "add these to airspace.v1.ErrorReason (reasons.proto):\n" + "\n".join(
        outside
    )


def test_the_router_names_reasons_by_their_catalogue_member():
    spelled = [
        f"{path}:{line}: {text} (use Reason.{text})"
        for path, literals in literals_by_file().items()
        if path.startswith(ROUTER)
        for line, text in literals
    ]
    assert spelled == [], "\n".join(spelled)


def test_the_scan_finds_reasons_in_each_position():
    source = """
LATE = "RUN_TIMEOUT"
CODES = {"POLICY_DENIED": 7}
raise RunFailure("slow", LATE, key)
raise RunFailure("loop", code="HOP_LIMIT")
raise errors.Aborted("moved", reason="SEQUENCE_MISMATCH")
attempt.failure, attempt.failure_code = "gone", "AGENT_UNAVAILABLE"
if exc.reason != "RUN_ENDED": pass
CODES.get(failure.code)
Handoff(reason="a free-text reason")
"""
    assert sorted(text for _, text in reason_literals(ast.parse(source))) == [
        "AGENT_UNAVAILABLE",
        "HOP_LIMIT",
        "POLICY_DENIED",
        "RUN_ENDED",
        "RUN_TIMEOUT",
        "SEQUENCE_MISMATCH",
    ]
