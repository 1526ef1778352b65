"""The catalogue of reasons: why a run or a step attempt failed, or a call was refused.

`Reason` has one member for each value of the public enum airspace.v1.ErrorReason but
its zero value, built from the generated descriptor, so the two cannot drift. What a
reason means, its typical cause and what to do are the value's comment in
reasons.proto, installed beside the generated code; docs/reasons.md is written from
the same comments (tools/gen_reasons_doc.py).
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import pathlib
import re

from airspace.v1 import reasons_pb2

Reason = enum.StrEnum(
    "Reason",
    [(v.name, v.name) for v in reasons_pb2.ErrorReason.DESCRIPTOR.values if v.number != 0],
)
Reason.__doc__ = "A catalogued reason; its value is the ErrorInfo.reason string."

PROTO = pathlib.Path(reasons_pb2.__file__).with_name("reasons.proto")
_VALUE = re.compile(r"^\s*([A-Z][A-Z0-9_]*) = \d+;")
_COMMENT = re.compile(r"^\s*// ?(.*)$")


@dataclasses.dataclass(frozen=True)
class Explanation:
    meaning: str
    cause: str
    action: str


def parse(reason: str) -> Reason | None:
    """The catalogued reason named `reason`, or None for a string outside the catalogue."""
    try:
        return Reason(reason)
    except ValueError:
        return None


def explain(reason: Reason) -> Explanation:
    return explanations()[reason]


@functools.cache
def explanations() -> dict[Reason, Explanation]:
    """Every reason's explanation, in the catalogue's order."""
    found: dict[Reason, Explanation] = {}
    comment: list[str] = []
    for line in PROTO.read_text().splitlines():
        if said := _COMMENT.match(line):
            comment.append(said.group(1))
            continue
        value = _VALUE.match(line)
        if value and (reason := parse(value.group(1))) is not None:
            found[reason] = _explanation(comment)
        comment = []
    return found


def _explanation(comment: list[str]) -> Explanation:
    """Splits a value's comment into its meaning, its `Cause:` and its `Do:`."""
    parts = {"meaning": [], "cause": [], "action": []}
    current = parts["meaning"]
    for line in comment:
        for label, key in (("Cause:", "cause"), ("Do:", "action")):
            if line.startswith(label):
                current, line = parts[key], line.removeprefix(label).strip()
        current.append(line)
    return Explanation(**{key: _sentence(" ".join(lines)) for key, lines in parts.items()})


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]
