"""A loaded, validated policy bundle: roles, rules and PII settings. Immutable."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping

from airspace.policy.engine import checkpoints
from airspace.policy.engine.conditions import Condition
from airspace.policy.engine.model import Effect, MaskOperator


@dataclasses.dataclass(frozen=True)
class Rule:
    id: str
    checkpoints: frozenset[str]
    condition: Condition
    effect: Effect
    reason: str  # stable UPPER_SNAKE code reported when the rule matches
    approver_role: str = ""
    description: str = ""


@dataclasses.dataclass(frozen=True)
class PiiEntityPolicy:
    clearance: str  # DataClass the receiving agent needs to see the entity in clear
    operator: MaskOperator


@dataclasses.dataclass(frozen=True)
class PiiPolicy:
    checkpoints: frozenset[str]  # where missing clearances produce mask obligations
    entities: Mapping[str, PiiEntityPolicy]  # one entry for every detected entity
    hash_length: int = 12
    # The data classes each role sees in clear, on top of what a check's caller names
    # (an agent's card): how a person reading a run is cleared.
    role_clearances: Mapping[str, frozenset[str]] = dataclasses.field(default_factory=dict)

    def clearances(self, roles: Iterable[str], named: Iterable[str] = ()) -> frozenset[str]:
        """The data classes a subject with `roles` sees in clear at a check naming `named`."""
        return frozenset(named).union(*(self.role_clearances.get(r, ()) for r in roles))


@dataclasses.dataclass(frozen=True)
class Bundle:
    name: str
    version: str
    dry_run: bool
    roles: Mapping[str, frozenset[str]]
    rules: tuple[Rule, ...]
    pii: PiiPolicy
    source: str  # file name, for messages
    digest: str  # sha256 of the file, hex
    # Worked out once from the fields above, so a check only looks them up.
    _by_checkpoint: Mapping[str, tuple[Rule, ...]] = dataclasses.field(
        init=False, repr=False, compare=False
    )
    _granted: Mapping[str, frozenset[str]] = dataclasses.field(
        init=False, repr=False, compare=False
    )
    _reading_pii: frozenset[str] = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self):
        index = {
            checkpoint: tuple(rule for rule in self.rules if checkpoint in rule.checkpoints)
            for checkpoint in checkpoints.CHECKPOINTS
        }
        granted = {
            role: frozenset(
                permission
                for permission in checkpoints.PERMISSIONS
                if any(checkpoints.grants(grant, permission) for grant in grants)
            )
            for role, grants in self.roles.items()
        }
        reading_pii = frozenset(
            checkpoint
            for checkpoint, rules in index.items()
            if any("pii" in rule.condition.variables for rule in rules)
        )
        object.__setattr__(self, "_by_checkpoint", index)
        object.__setattr__(self, "_granted", granted)
        object.__setattr__(self, "_reading_pii", reading_pii)

    def rules_for(self, checkpoint: str) -> tuple[Rule, ...]:
        return self._by_checkpoint.get(checkpoint, ())

    def rules_read_pii(self, checkpoint: str) -> bool:
        """Whether a rule of `checkpoint` reads the PII found in the check's payload."""
        return checkpoint in self._reading_pii

    def grants(self, roles: Iterable[str], permission: str) -> bool:
        return any(permission in self._granted.get(role, ()) for role in roles)
