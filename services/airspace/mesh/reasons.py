"""The catalogue of reasons: why a run or a step attempt failed, or a call was refused.

`Reason` has one member for each value of the public enum airspace.v1.ErrorReason but
its zero value (tests/reasons/test_catalogue.py keeps the two equal). What a
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

from google.rpc import error_details_pb2, status_pb2

from airspace.mesh.errors import ERROR_DOMAIN
from airspace.v1 import reasons_pb2


class Reason(enum.StrEnum):
    """A catalogued reason; its value is the ErrorInfo.reason string. The members are
    spelled out for the type checker; a test holds them equal to the proto enum's."""

    BUDGET_EXCEEDED = "BUDGET_EXCEEDED"
    RUN_TIMEOUT = "RUN_TIMEOUT"
    HOP_LIMIT = "HOP_LIMIT"
    HANDOFF_LOOP = "HANDOFF_LOOP"
    HANDOFF_REFUSED = "HANDOFF_REFUSED"
    HANDOFF_NOT_ALLOWED = "HANDOFF_NOT_ALLOWED"
    POLICY_DENIED = "POLICY_DENIED"
    APPROVAL_REQUIRED = "APPROVAL_REQUIRED"
    APPROVAL_EXPIRED = "APPROVAL_EXPIRED"
    REJECTED_BY_REVIEWER = "REJECTED_BY_REVIEWER"
    OUTPUT_INVALID = "OUTPUT_INVALID"
    CONDITION_ERROR = "CONDITION_ERROR"
    BRANCHES_FAILED = "BRANCHES_FAILED"
    CONFLICT = "CONFLICT"
    CONFLICT_REJECTED = "CONFLICT_REJECTED"
    CONFLICT_UNRESOLVED = "CONFLICT_UNRESOLVED"
    SELECTOR_INVALID = "SELECTOR_INVALID"
    AGENT_NOT_REGISTERED = "AGENT_NOT_REGISTERED"
    AGENT_VERSION_CHANGED = "AGENT_VERSION_CHANGED"
    AGENT_TIMEOUT = "AGENT_TIMEOUT"
    AGENT_UNAVAILABLE = "AGENT_UNAVAILABLE"
    AGENT_CALL_FAILED = "AGENT_CALL_FAILED"
    CONTRACT_VIOLATION = "CONTRACT_VIOLATION"
    AGENT_INVALID_INPUT = "AGENT_INVALID_INPUT"
    AGENT_DEPENDENCY = "AGENT_DEPENDENCY"
    AGENT_REJECTED = "AGENT_REJECTED"
    AGENT_PENDING_APPROVAL = "AGENT_PENDING_APPROVAL"
    AGENT_INTERNAL = "AGENT_INTERNAL"
    AGENT_CANCELED = "AGENT_CANCELED"
    AGENT_INPUT_REQUIRED = "AGENT_INPUT_REQUIRED"
    AGENT_AUTH_REQUIRED = "AGENT_AUTH_REQUIRED"
    AGENT_UNREACHABLE = "AGENT_UNREACHABLE"
    INVALID_AGENT_CARD = "INVALID_AGENT_CARD"
    A2A_CARD_UNAVAILABLE = "A2A_CARD_UNAVAILABLE"
    MALFORMED_WORKFLOW = "MALFORMED_WORKFLOW"
    INVALID_WORKFLOW = "INVALID_WORKFLOW"
    UNKNOWN_AGENT = "UNKNOWN_AGENT"
    TOO_DEEP = "TOO_DEEP"
    INPUT_TOO_LARGE = "INPUT_TOO_LARGE"
    MEMORY_SCOPE = "MEMORY_SCOPE"
    RUN_ENDED = "RUN_ENDED"
    RUN_STATE_MISMATCH = "RUN_STATE_MISMATCH"
    SEQUENCE_MISMATCH = "SEQUENCE_MISMATCH"
    LEASE_NOT_HELD = "LEASE_NOT_HELD"
    STEP_ALREADY_JOURNALED = "STEP_ALREADY_JOURNALED"
    RUN_PRUNED = "RUN_PRUNED"
    VERSION_MISMATCH = "VERSION_MISMATCH"
    APPROVAL_ALREADY_DECIDED = "APPROVAL_ALREADY_DECIDED"
    PAYLOAD_CHANGED = "PAYLOAD_CHANGED"
    SELF_APPROVAL = "SELF_APPROVAL"
    MISSING_ROLE = "MISSING_ROLE"
    AGENT_CANNOT_APPROVE = "AGENT_CANNOT_APPROVE"
    MISSING_CREDENTIALS = "MISSING_CREDENTIALS"
    INVALID_API_KEY = "INVALID_API_KEY"
    INVALID_TOKEN = "INVALID_TOKEN"
    MALFORMED_REQUEST = "MALFORMED_REQUEST"
    MISSING_IDENTITY = "MISSING_IDENTITY"
    INVALID_IDENTITY = "INVALID_IDENTITY"
    MESH_ONLY = "MESH_ONLY"
    INVALID_BUNDLE = "INVALID_BUNDLE"
    POLICY_UNAVAILABLE = "POLICY_UNAVAILABLE"
    BUNDLE_STALE = "BUNDLE_STALE"
    RATE_LIMITED = "RATE_LIMITED"
    RUN_QUOTA_EXCEEDED = "RUN_QUOTA_EXCEEDED"
    OVERLOADED = "OVERLOADED"
    RUN_CANCELED = "RUN_CANCELED"
    RUN_STILL_RUNNING = "RUN_STILL_RUNNING"
    REQUEST_ID_REUSED = "REQUEST_ID_REUSED"
    CERTIFICATE_IDENTITY_MISMATCH = "CERTIFICATE_IDENTITY_MISMATCH"


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
    parts: dict[str, list[str]] = {"meaning": [], "cause": [], "action": []}
    current = parts["meaning"]
    for line in comment:
        for label, key in (("Cause:", "cause"), ("Do:", "action")):
            if line.startswith(label):
                current, line = parts[key], line.removeprefix(label).strip()
        current.append(line)
    return Explanation(**{key: _sentence(" ".join(lines)) for key, lines in parts.items()})


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def reason_of(status: status_pb2.Status) -> Reason | None:
    """The catalogued reason of an error: its ErrorInfo's, else the reason its message
    starts with (errors recorded without an ErrorInfo), else None."""
    for detail in status.details:
        info = error_details_pb2.ErrorInfo()
        if detail.Unpack(info) and info.domain == ERROR_DOMAIN:  # False for other details
            return parse(info.reason)
    leading = status.message.split(":", 1)[0].split(" at step ", 1)[0]
    return parse(leading)
