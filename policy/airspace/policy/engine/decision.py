"""Decides one check against one bundle: tenant, RBAC, CEL rules, then PII obligations.

Deny overrides require_approval overrides allow. It fails closed: an unknown
checkpoint, a rule that errors or returns a non-bool, or any unexpected failure is
DENY with reason POLICY_ERROR naming the rule.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import secrets

from airspace.policy.engine import checkpoints, pointer
from airspace.policy.engine import model as m
from airspace.policy.engine.activation import Activation
from airspace.policy.engine.bundle import Bundle
from airspace.policy.engine.conditions import EvaluationError
from airspace.policy.engine.pii.masking import Masker, new_token, token_replacement
from airspace.policy.engine.pii.scan import Span, scan_json

log = logging.getLogger("airspace.policy.engine")

# Where the payload sits in the one document a check's scan walks.
_PAYLOAD = "payload"
_PAYLOAD_PATH = pointer.join([_PAYLOAD])


@dataclasses.dataclass
class _Outcome:
    findings: list[tuple[m.Verdict, m.Reason]] = dataclasses.field(default_factory=list)
    obligations: list[m.MaskObligation] = dataclasses.field(default_factory=list)
    tokens: list[m.Tokenized] = dataclasses.field(default_factory=list)
    approver_role: str = ""
    # Tenant isolation holds even for a dry-run bundle.
    binding: bool = False
    caller_spans: list[Span] | None = None  # PII in m.caller_texts, once scanned

    def add(self, verdict: m.Verdict, reason: m.Reason) -> _Outcome:
        self.findings.append((verdict, reason))
        return self

    @property
    def verdict(self) -> m.Verdict:
        return max((verdict for verdict, _ in self.findings), default=m.Verdict.DENY)


class Engine:
    """Decides checks against one bundle; immutable, so swap engines to change bundles."""

    def __init__(self, bundle: Bundle, hash_key: bytes):
        self.bundle = bundle
        self.masker = Masker(hash_key, bundle.pii.hash_length)

    def decide(self, check: m.CheckInput) -> m.Decision:
        try:
            outcome = self._evaluate(check)
            if outcome.caller_spans is None:  # decided before the payload needed a scan
                outcome.caller_spans = scan_json(m.caller_texts(check))
        except Exception:
            log.exception("policy evaluation failed for checkpoint %s", check.checkpoint[:64])
            outcome = _Outcome().add(
                m.Verdict.DENY, m.Reason(m.POLICY_ERROR, m.ENGINE_RULE, "internal policy error")
            )
        spans = outcome.caller_spans
        evaluated = outcome.verdict
        verdict = m.Verdict.ALLOW if self.bundle.dry_run and not outcome.binding else evaluated
        if verdict != evaluated:  # what a dry-run bundle would have enforced
            log.info(
                "dry-run bundle %s: %s would be %s (%s)",
                self.bundle.version,
                check.checkpoint[:64],
                evaluated.name,
                ", ".join(f"{r.code}/{r.rule_id}" for _, r in outcome.findings),
            )
        return m.Decision(
            decision_id=secrets.token_hex(16),  # 32 random hex digits, like uuid4().hex, for less
            checkpoint=check.checkpoint,
            verdict=verdict,
            evaluated_verdict=evaluated,
            reasons=tuple(reason for _, reason in outcome.findings),
            obligations=tuple(outcome.obligations) if verdict != m.Verdict.DENY else (),
            bundle_version=self.bundle.version,
            dry_run=self.bundle.dry_run,
            approver_role=outcome.approver_role if verdict == m.Verdict.REQUIRE_APPROVAL else "",
            tokens=tuple(outcome.tokens) if verdict != m.Verdict.DENY else (),
            caller_masks=self.masker.hash_masks(spans) if spans is not None else None,
        )

    def _evaluate(self, check: m.CheckInput) -> _Outcome:
        outcome = _Outcome()
        permission = checkpoints.PERMISSION_BY_CHECKPOINT.get(check.checkpoint)
        if permission is None:
            message = f"unknown checkpoint '{check.checkpoint[:64]}'"
            return outcome.add(m.Verdict.DENY, m.Reason(m.POLICY_ERROR, m.CHECKPOINT_RULE, message))
        if _crosses_tenants(check.subject, check.resource):
            outcome.binding = True
            message = "the resource belongs to another tenant"
            return outcome.add(m.Verdict.DENY, m.Reason(m.TENANT_MISMATCH, m.TENANT_RULE, message))
        if not self.bundle.grants(check.subject.roles, permission):
            message = f"no role of the subject grants {permission}"
            return outcome.add(m.Verdict.DENY, m.Reason(m.RBAC_DENIED, m.RBAC_RULE, message))
        outcome.add(m.Verdict.ALLOW, m.Reason(m.RBAC_GRANTED, m.RBAC_RULE, f"granted {permission}"))

        rules = self.bundle.rules_for(check.checkpoint)
        masks_pii = check.checkpoint in self.bundle.pii.checkpoints
        reads_pii = self.bundle.rules_read_pii(check.checkpoint)
        spans = self._scan(check, outcome) if masks_pii or reads_pii else []
        self._apply_rules(check, rules, spans, outcome)
        if masks_pii:
            self._mask(check, spans, outcome)
        return outcome

    def _scan(self, check: m.CheckInput, outcome: _Outcome) -> list[Span]:
        """The payload's PII spans, found in the same scan as those of the caller's texts
        (kept in `outcome` for the audit record), so no text of the check is scanned twice."""
        spans = scan_json({_PAYLOAD: dict(check.payload), **m.caller_texts(check)})
        inside = [s.path.startswith(_PAYLOAD_PATH + "/") for s in spans]
        outcome.caller_spans = [s for s, payload in zip(spans, inside, strict=True) if not payload]
        return [
            dataclasses.replace(s, path=s.path.removeprefix(_PAYLOAD_PATH))
            for s, payload in zip(spans, inside, strict=True)
            if payload
        ]

    def _apply_rules(self, check, rules, spans: list[Span], outcome: _Outcome) -> None:
        activation = Activation(check, (entity for span in spans for entity in span.entities))
        for rule in rules:
            try:
                matched = rule.condition.evaluate(activation.values(rule.condition.variables))
            except EvaluationError as exc:
                log.warning("rule %s failed: %s", rule.id, exc)
                reason = m.Reason(m.POLICY_ERROR, rule.id, f"rule {rule.id}: when: {exc}")
                outcome.add(m.Verdict.DENY, reason)
                continue
            if not matched:
                continue
            outcome.add(rule.effect.verdict, m.Reason(rule.reason, rule.id, rule.description))
            if rule.effect is m.Effect.REQUIRE_APPROVAL and not outcome.approver_role:
                outcome.approver_role = rule.approver_role

    def _mask(self, check: m.CheckInput, spans: list[Span], outcome: _Outcome) -> None:
        masked: collections.Counter[str] = collections.Counter()
        entities = self.bundle.pii.entities
        cleared = self.bundle.pii.clearances(check.subject.roles, check.clearances)
        for span in spans:
            # An encoded span may hold several entities: masked if any is not cleared.
            lacking = [e for e in span.entities if entities[e].clearance not in cleared]
            if not lacking:
                continue
            entity = lacking[0]
            operator = entities[entity].operator
            if span.piece:
                # The first piece of a split entity stands for it; the others disappear.
                replacement = ""
            elif operator is m.MaskOperator.TOKENIZE:
                token = new_token()
                outcome.tokens.append(m.Tokenized(token, entity, span.value))
                replacement = token_replacement(entity, token)
            else:
                replacement = self.masker.replacement(entity, operator, span.value)
            outcome.obligations.append(
                m.MaskObligation(
                    span.path, span.start, span.end, entity, operator, replacement, span.scope
                )
            )
            if span.piece == 0:  # a split entity counts once
                masked[entity] += 1
        for entity, count in sorted(masked.items()):
            clearance = self.bundle.pii.entities[entity].clearance
            message = f"{count} {entity} span(s) masked: the receiver lacks {clearance}"
            outcome.add(m.Verdict.ALLOW, m.Reason(m.PII_MASKED, m.pii_rule(entity), message))


def _crosses_tenants(subject: m.Subject, resource: m.Resource) -> bool:
    if not resource.tenant:
        return False
    # Mesh services act for every tenant (airspace.mesh.channels.mesh_identity).
    if subject.kind == "mesh" and subject.tenant == m.ANY_TENANT:
        return False
    return subject.tenant != resource.tenant
