"""The engine's inputs and outputs: plain values, no gRPC, so any caller can use them."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from typing import Any


class Verdict(enum.IntEnum):
    """Ordered by precedence: the highest verdict any reason produced wins."""

    ALLOW = 1
    REQUIRE_APPROVAL = 2
    DENY = 3


class Effect(enum.StrEnum):
    """What a matching rule asks for."""

    ALLOW = "allow"
    DENY = "deny"
    REQUIRE_APPROVAL = "require_approval"

    @property
    def verdict(self) -> Verdict:
        return Verdict[self.name]


class MaskOperator(enum.StrEnum):
    REDACT = "REDACT"
    PARTIAL = "PARTIAL"
    HASH = "HASH"


# Stable reason codes; rule-specific codes come from the bundle.
POLICY_ERROR = "POLICY_ERROR"
TENANT_MISMATCH = "TENANT_MISMATCH"
RBAC_DENIED = "RBAC_DENIED"
RBAC_GRANTED = "RBAC_GRANTED"
PII_MASKED = "PII_MASKED"

# Rule ids of the built-in stages, so every reason names what produced it.
TENANT_RULE = "builtin:tenant"
RBAC_RULE = "builtin:rbac"
CHECKPOINT_RULE = "builtin:checkpoint"
ENGINE_RULE = "builtin:engine"


# The tenant of mesh services, which act for every tenant.
ANY_TENANT = "*"


def pii_rule(entity: str) -> str:
    return f"pii:{entity}"


@dataclasses.dataclass(frozen=True)
class Subject:
    """The principal being judged (not necessarily the caller of the service)."""

    principal: str
    tenant: str
    roles: tuple[str, ...] = ()
    kind: str = ""  # "user", "service_account", "agent", "mesh" or "" when unknown


@dataclasses.dataclass(frozen=True)
class Resource:
    kind: str = ""
    name: str = ""
    tenant: str = ""
    attributes: Mapping[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class CheckInput:
    checkpoint: str
    subject: Subject
    resource: Resource = Resource()
    payload: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    clearances: frozenset[str] = frozenset()  # DataClass names, e.g. "DATA_CLASS_PII"
    run_id: str = ""
    step_key: str = ""


@dataclasses.dataclass(frozen=True)
class Reason:
    code: str
    rule_id: str
    message: str = ""  # never contains payload text or PII


@dataclasses.dataclass(frozen=True)
class MaskObligation:
    """Replace code points [start, end) of the string at `path` with `replacement`."""

    path: str
    start: int
    end: int
    entity: str
    operator: MaskOperator
    replacement: str


@dataclasses.dataclass(frozen=True)
class Decision:
    decision_id: str
    checkpoint: str
    verdict: Verdict  # what the caller must enforce
    evaluated_verdict: Verdict  # what the rules decided (differs only in dry-run)
    reasons: tuple[Reason, ...]
    obligations: tuple[MaskObligation, ...]
    bundle_version: str
    dry_run: bool
    approver_role: str = ""
