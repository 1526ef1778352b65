"""What the audit log keeps about a decision or an event: never a payload, never PII in clear."""

from __future__ import annotations

import collections
from collections.abc import Mapping
from typing import Any

from airspace.policy.audit.chain import AuditRecord
from airspace.policy.engine.model import CheckInput, Decision, MaskObligation, MaskOperator
from airspace.policy.engine.pii.masking import Masker
from airspace.policy.engine.pii.scan import scan_json
from airspace.policy.obligations import apply_obligations

DECISION_KIND = "policy.decision"


def decision_record(check: CheckInput, decision: Decision, masker: Masker) -> AuditRecord:
    masked = collections.Counter(obligation.entity for obligation in decision.obligations)
    # Resource names and step keys come from callers: they are scanned like any text.
    resource = {"kind": check.resource.kind, "name": check.resource.name}
    from_caller = masked_details({"resource": resource, "step_key": check.step_key}, masker)
    details = {
        "checkpoint": decision.checkpoint,
        "verdict": decision.verdict.name,
        "evaluated_verdict": decision.evaluated_verdict.name,
        "reason_codes": [reason.code for reason in decision.reasons],
        "rule_ids": [reason.rule_id for reason in decision.reasons],
        "bundle_version": decision.bundle_version,
        "dry_run": decision.dry_run,
        "approver_role": decision.approver_role,
        "masked": dict(sorted(masked.items())),
        **from_caller,
    }
    return AuditRecord(
        kind=DECISION_KIND,
        tenant=check.subject.tenant,
        principal=check.subject.principal,
        run_id=check.run_id,
        decision_id=decision.decision_id,
        details=details,
    )


def masked_details(details: Mapping[str, Any], masker: Masker) -> dict:
    """`details` with every PII span, in values and member names, replaced by its keyed
    hash: nothing readable is kept, yet the same value stays recognizable across entries."""
    obligations = [
        MaskObligation(
            span.path,
            span.start,
            span.end,
            span.entity,
            MaskOperator.HASH,
            masker.replacement(span.entity, MaskOperator.HASH, span.value),
        )
        for span in scan_json(dict(details))
    ]
    return apply_obligations(dict(details), obligations)
