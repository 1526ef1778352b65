"""The policy service's Prometheus metrics: decisions by checkpoint and verdict, and PII
masks by entity. Served by the mesh's metrics endpoint (settings.metrics_port)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from prometheus_client import Counter

from airspace.policy.engine import Decision, Verdict
from airspace.policy.engine.checkpoints import CHECKPOINTS
from airspace.policy.engine.pii.detectors import ENTITIES

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
    _count(decision.checkpoint, decision.verdict.name)
    for obligation in decision.obligations:
        PII_MASKS.labels(obligation.entity).inc()


def record_reported(details: Mapping[str, Any]) -> None:
    """A decision taken elsewhere (a router's engine), from its audit record's details."""
    _count(str(details.get("checkpoint", "")), str(details.get("verdict", "")))
    masked = details.get("masked", {})
    for entity, count in masked.items() if isinstance(masked, dict) else ():
        if entity in ENTITIES and isinstance(count, int | float):
            PII_MASKS.labels(entity).inc(count)


def _count(checkpoint: str, verdict: str) -> None:
    # Checkpoints and reported verdicts come from callers: what is off the lists shares a label.
    checkpoint = checkpoint if checkpoint in CHECKPOINTS else "other"
    verdict = verdict if verdict in Verdict.__members__ else "other"
    DECISIONS.labels(checkpoint, verdict.lower()).inc()
