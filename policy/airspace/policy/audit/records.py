"""What the audit log keeps about a decision or an event: never a payload, never PII in clear."""

from __future__ import annotations

import collections
from collections.abc import Mapping
from typing import Any

from airspace.policy.audit.chain import AuditRecord
from airspace.policy.engine.model import CheckInput, Decision, caller_texts
from airspace.policy.engine.pii.masking import Masker
from airspace.policy.engine.pii.scan import scan_json
from airspace.policy.obligations import apply_obligations

DECISION_KIND = "policy.decision"


def decision_record(check: CheckInput, decision: Decision, masker: Masker) -> AuditRecord:
    masked = collections.Counter(obligation.entity for obligation in decision.obligations)
    # Resource names and step keys come from callers: the check's scan covered them.
    from_caller = caller_texts(check)
    if decision.caller_masks is None:
        from_caller = masked_details(from_caller, masker)
    else:  # spans found in these very strings: nothing to check again
        from_caller = apply_obligations(from_caller, decision.caller_masks, recheck=False)
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
    masks = masker.hash_masks(scan_json(dict(details)))
    return apply_obligations(dict(details), masks, recheck=False)
