"""People in the loop of a step: reviews before it, reviews of its output (a declared
checkpoint, low confidence, or a policy REQUIRE_APPROVAL), and escalation of a rejection.

Every review is a durable approval through the gate: the run pauses, and replays to the
same point once a person decided.
"""

from __future__ import annotations

from typing import Any

from airspace.mesh.reasons import Reason
from airspace.router.approval_gate import ApprovalGate, expired, expiry
from airspace.router.payload import Payload
from airspace.router.run_context import RunContext, RunFailure
from airspace.router.spec.model import ApprovalPoint, Step
from airspace.router.step_key import StepKey
from airspace.v1 import approval_pb2, run_pb2

DEFAULT_POINT = ApprovalPoint(after=True)
KINDS = {
    "checkpoint": approval_pb2.APPROVAL_KIND_CHECKPOINT,
    "low_confidence": approval_pb2.APPROVAL_KIND_LOW_CONFIDENCE,
    "policy": approval_pb2.APPROVAL_KIND_POLICY,
}


def point_of(step: Step) -> ApprovalPoint:
    return step.approval or DEFAULT_POINT


def output_review(
    step: Step, payload: Payload, policy_role: str, policy_reason: str
) -> dict[str, str] | None:
    """Why a person must see this output before the run goes on, if they must
    (stored in the journal with the output, so a replay asks the same question)."""
    if policy_reason:
        return {
            "kind": "policy",
            "role": policy_role or point_of(step).role,
            "reason": policy_reason,
        }
    confidence = payload.confidence
    if step.min_confidence is not None and (confidence is None or confidence < step.min_confidence):
        shown = "unknown" if confidence is None else f"{confidence:.2f}"
        return {
            "kind": "low_confidence",
            "role": point_of(step).role,
            "reason": f"confidence {shown} is below {step.min_confidence:.2f}",
        }
    if step.approval and step.approval.after:
        return {
            "kind": "checkpoint",
            "role": step.approval.role,
            "reason": "the workflow reviews this step's output",
        }
    return None


async def decide(
    gate: ApprovalGate,
    ctx: RunContext,
    key: StepKey,
    kind: approval_pb2.ApprovalKind,
    point: ApprovalPoint,
    role: str,
    summary: str,
    payload: dict[str, Any],
) -> approval_pb2.Approval:
    """A person's decision. A rejection, or a deadline passed, is escalated once to the
    workflow's escalation role when it says so; an approval left to expire fails the run."""
    approval = await gate.decision(
        ctx, str(key), kind, role, summary, payload, deadline=point.deadline
    )
    rejected = (
        approval.outcome == run_pb2.APPROVAL_OUTCOME_REJECTED and point.on_reject == "escalate"
    )
    timed_out = expired(approval) and point.on_expiry == "escalate"
    if rejected or timed_out:
        why = (
            "its deadline passed"
            if timed_out
            else f"{approval.decided_by} rejected it: {approval.comment}"
        )
        approval = await gate.decision(
            ctx,
            str(key.escalated()),
            kind,
            point.escalate_to,
            f"Escalated because {why}. {summary}",
            payload,
            deadline=point.deadline,
        )
    if expired(approval):
        raise expiry(approval, str(key))
    return approval


def rejection(approval: approval_pb2.Approval, key: StepKey) -> RunFailure:
    comment = f": {approval.comment}" if approval.comment else ""
    return RunFailure(
        f"rejected by {approval.decided_by}{comment}", Reason.REJECTED_BY_REVIEWER, str(key)
    )
