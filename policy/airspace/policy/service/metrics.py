"""The policy service's Prometheus metrics: decisions by checkpoint and verdict, and PII
masks by entity. Served by the mesh's metrics endpoint (settings.metrics_port)."""

from __future__ import annotations

from prometheus_client import Counter

from airspace.policy.engine import Decision
from airspace.policy.engine.checkpoints import CHECKPOINTS

DECISIONS = Counter(
    "airspace_policy_decisions_total",
    "Checks decided, by checkpoint and enforced verdict (allow, deny, require_approval).",
    ("checkpoint", "verdict"),
)
PII_MASKS = Counter(
    "airspace_policy_pii_masks_total",
    "PII findings a decision obliged the caller to mask, by entity.",
    ("entity",),
)


def record_decision(decision: Decision) -> None:
    # Checkpoints come from callers: anything off the engine's list shares one label.
    checkpoint = decision.checkpoint if decision.checkpoint in CHECKPOINTS else "other"
    DECISIONS.labels(checkpoint, decision.verdict.name.lower()).inc()
    for obligation in decision.obligations:
        PII_MASKS.labels(obligation.entity).inc()
