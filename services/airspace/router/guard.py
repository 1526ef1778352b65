"""Asks policy before and after every step, carries out its obligations, and fails closed."""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter
from collections.abc import Sequence
from typing import Any

from airspace.mesh import errors, identity
from airspace.mesh.reasons import Reason
from airspace.policy.engine.model import CheckInput, Resource, Subject, Verdict
from airspace.policy.obligations import ObligationError, apply_obligations
from airspace.router.repositories import AuditCarrier, PolicyDecisions
from airspace.v1 import run_pb2

log = logging.getLogger("airspace.router")
_VERDICTS = {
    Verdict.ALLOW: run_pb2.VERDICT_ALLOW,
    Verdict.REQUIRE_APPROVAL: run_pb2.VERDICT_REQUIRE_APPROVAL,
    Verdict.DENY: run_pb2.VERDICT_DENY,
}

# Resource names (ids, workflow and agent names, memory namespaces) are short; a longer one
# is refused before policy judges it, so it never fills the audit log.
MAX_NAME_CHARS = 256
# The request field that names each kind of resource.
_NAME_FIELDS = {
    "run": "run_id",
    "workflow": "workflow",
    "approval": "approval_id",
    "agent": "agent",
    "memory": "namespace",
}


@dataclasses.dataclass
class Judgement:
    """A policy decision, with the payload after its obligations were carried out."""

    verdict: run_pb2.GuardrailVerdict
    payload: dict[str, Any]
    # Who must approve, when the verdict is REQUIRE_APPROVAL.
    approver_role: str = ""
    # Why a step it stops fails: policy said no, or there was no decision to trust.
    refusal: Reason = Reason.POLICY_DENIED
    # Policy could not be asked: the DENY is the guard failing closed, worth a retry.
    unavailable: bool = False

    @property
    def allowed(self) -> bool:
        return self.verdict.verdict == run_pb2.VERDICT_ALLOW

    @property
    def needs_approval(self) -> bool:
        return self.verdict.verdict == run_pb2.VERDICT_REQUIRE_APPROVAL

    def explain(self) -> str:
        reasons = ", ".join(
            f"{r.code} ({r.rule_id})" if r.rule_id else r.code for r in self.verdict.reasons
        )
        verdict = run_pb2.Verdict.Name(self.verdict.verdict).removeprefix("VERDICT_")
        return f"{self.verdict.checkpoint}: {verdict}" + (f" — {reasons}" if reasons else "")


def subject_of(who: identity.Identity) -> Subject:
    return Subject(who.principal, who.tenant, tuple(who.roles), who.kind)


def agent_subject(agent: str, tenant: str) -> Subject:
    return Subject(f"agent:{agent}", tenant, ("agent",), "agent")


class Guard:
    def __init__(self, policy: PolicyDecisions):
        self._policy = policy

    async def judge(
        self,
        checkpoint: str,
        subject: Subject,
        resource: Resource,
        payload: dict[str, Any] | None = None,
        *,
        run_id: str = "",
        step_key: str = "",
        clearances: Sequence[str] = (),
        carrier: AuditCarrier | None = None,
    ) -> Judgement:
        """Policy's judgement; with a carrier (the run's log) its audit record rides with
        the carrier's next write (see PolicyDecisions.check)."""
        check = CheckInput(
            checkpoint=checkpoint,
            subject=subject,
            resource=resource,
            payload=payload or {},
            clearances=frozenset(clearances),
            run_id=run_id,
            step_key=step_key,
        )
        try:
            decision = await self._policy.check(check, carrier)
        except errors.MeshError as exc:
            log.warning("policy check %s failed closed: %s", checkpoint, exc.message)
            stale = exc.reason == Reason.BUNDLE_STALE
            refusal = Reason.BUNDLE_STALE if stale else Reason.POLICY_UNAVAILABLE
            denied = _denied(checkpoint, refusal, exc.message, payload)
            denied.refusal = refusal
            denied.unavailable = True
            return denied
        verdict = run_pb2.GuardrailVerdict(
            decision_id=decision.decision_id,
            checkpoint=checkpoint,
            verdict=_VERDICTS[decision.verdict],
            reasons=[
                run_pb2.Reason(code=r.code, rule_id=r.rule_id, message=r.message)
                for r in decision.reasons
            ],
            bundle_version=decision.bundle_version,
        )
        if decision.verdict is Verdict.DENY or payload is None:
            return Judgement(verdict, payload or {}, decision.approver_role)
        try:
            # The spans were found in this very payload: no need to scan them again.
            masked = apply_obligations(payload, decision.obligations, recheck=False)
        except ObligationError as exc:
            # A caller that cannot carry out an obligation treats the check as DENY.
            return _denied(checkpoint, "OBLIGATION_FAILED", str(exc), payload, verdict)
        masks = Counter(obligation.entity for obligation in decision.obligations)
        verdict.obligations_applied.extend(
            f"mask {entity.lower()} x{count}" for entity, count in sorted(masks.items())
        )
        return Judgement(verdict, masked, decision.approver_role)

    async def authorize(
        self, checkpoint: str, kind: str, name: str = "", carrier: AuditCarrier | None = None
    ) -> identity.Identity:
        """RBAC for a public call on a resource of the caller's tenant: returns the caller,
        or raises PERMISSION_DENIED. With a carrier, the decision's record rides with the
        change the call makes (the carrier stores it on its own when there is none)."""
        caller = identity.require()
        if len(name) > MAX_NAME_CHARS:
            field = _NAME_FIELDS.get(kind, kind)
            raise errors.InvalidArgument(
                f"{field} is longer than {MAX_NAME_CHARS} characters", field=field
            )
        resource = Resource(kind=kind, name=name, tenant=caller.tenant)
        judgement = await self.judge(checkpoint, subject_of(caller), resource, carrier=carrier)
        if judgement.refusal is not Reason.POLICY_DENIED:
            raise errors.Unavailable(
                f"policy cannot decide now ({judgement.explain()})", reason=judgement.refusal
            )
        if not judgement.allowed:
            raise errors.PermissionDenied(
                f"{caller.principal} may not do this ({judgement.explain()})",
                reason=Reason.POLICY_DENIED,
            )
        return caller


def _denied(
    checkpoint: str,
    code: str,
    message: str,
    payload: dict[str, Any] | None,
    base: run_pb2.GuardrailVerdict | None = None,
) -> Judgement:
    verdict = run_pb2.GuardrailVerdict(checkpoint=checkpoint, verdict=run_pb2.VERDICT_DENY)
    if base is not None:
        verdict.CopyFrom(base)
        verdict.verdict = run_pb2.VERDICT_DENY
    verdict.reasons.append(run_pb2.Reason(code=code, message=message))
    return Judgement(verdict, payload or {})
