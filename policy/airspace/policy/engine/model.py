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
    TOKENIZE = "TOKENIZE"  # a random token that authorized principals resolve (policy/airspace/policy/vault)


class MaskScope(enum.IntEnum):
    """What a masked span holds; numbered as airspace.policy.v1.MaskScope (0 means ENTITY)."""

    ENTITY = 1  # the entity itself
    FRAGMENT = 2  # one piece of an entity split across sibling strings
    ENCODED = 3  # base64 text that holds the entity once decoded


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
    scope: MaskScope = MaskScope.ENTITY


@dataclasses.dataclass(frozen=True)
class Tokenized:
    """A value a TOKENIZE mask replaced: the caller keeps it in the token vault."""

    token: str
    entity: str
    value: str = dataclasses.field(repr=False)  # PII in clear: never logged


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
    # Values behind the TOKENIZE masks of `obligations`, to store before the masks are used.
    tokens: tuple[Tokenized, ...] = dataclasses.field(default=(), repr=False)
    # HASH masks of the PII in the caller's texts the audit record keeps (caller_texts),
    # found by the check's one scan; None when they could not be scanned.
    caller_masks: tuple[MaskObligation, ...] | None = None


def caller_texts(check: CheckInput) -> dict[str, Any]:
    """What the audit record of a check keeps of the caller's own text."""
    return {
        "resource": {"kind": check.resource.kind, "name": check.resource.name},
        "step_key": check.step_key,
    }
