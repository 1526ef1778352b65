"""The actions (tool calls) a step's agent asks for, decided by the mesh.

The workflow names the actions a step may take, policy judges each request, and a
request policy holds for a person waits for an approval bound to the exact action and
arguments: the run pauses, and the agent's next attempt receives the decision.
"""

from __future__ import annotations

import hashlib
import json

from airspace.agent.v1 import agent_pb2
from airspace.policy.engine.model import Resource
from airspace.router import convert, metrics
from airspace.router.approval_gate import ApprovalGate, approval_id_of, expired, expiry
from airspace.router.guard import Guard, Judgement, agent_subject
from airspace.router.run_log import event
from airspace.router.step.call import StepCall
from airspace.router.step.policy import agent_clearances
from airspace.v1 import approval_pb2, run_pb2

ALLOWED, DENIED = agent_pb2.ACTION_VERDICT_ALLOWED, agent_pb2.ACTION_VERDICT_DENIED
PENDING_APPROVAL = agent_pb2.ACTION_VERDICT_PENDING_APPROVAL


class StepActions:
    """Decides the action requests of one step call, across its attempts."""

    def __init__(
        self,
        guard: Guard,
        gate: ApprovalGate,
        call: StepCall,
        prior: list[agent_pb2.ActionDecision],
    ) -> None:
        self._guard = guard
        self._gate = gate
        self._call = call
        # Decisions people took in an earlier attempt; the agent uses them instead of asking.
        self.prior_decisions = prior
        # Requests held for a person: (request as masked by policy, approver role, binding).
        self._pending: dict[str, tuple[agent_pb2.ActionRequest, str, str]] = {}

    @classmethod
    async def of(cls, guard: Guard, gate: ApprovalGate, call: StepCall) -> StepActions:
        """The actions of `call`; people's decisions are looked up only for a step that
        declares actions (any other request is denied whatever was decided)."""
        prior = await _decided(gate, call) if call.step.actions else []
        return cls(guard, gate, call, prior)

    async def decide(self, request: agent_pb2.ActionRequest) -> agent_pb2.ActionDecision:
        """The mesh's answer to one request, recorded with policy's verdict."""
        call = self._call
        judged = await self._judge(request)
        decision = self._decision(request, judged)
        masked = _masked(request, judged)
        if decision.verdict == PENDING_APPROVAL:
            self._pending[request.action_id] = (
                masked,
                judged.approver_role or "approver",
                _binding(request),
            )
        key = str(call.key)
        call.ctx.log.record(
            event(key, call.agent, action_requested=run_pb2.ActionRequested(request=masked)),
            event(key, call.agent, guardrail_verdict=judged.verdict),
            event(key, call.agent, action_decided=run_pb2.ActionDecided(decision=decision)),
        )
        metrics.record_guardrail_verdict(judged.verdict)
        if decision.verdict == ALLOWED:
            # The agent performs the action once told: its decision's record first.
            await call.ctx.log.store_audit()
        return decision

    async def ask_people(self) -> None:
        """One approval for each request held for a person; the run pauses until they are decided."""
        call = self._call
        for action_id, (request, role, binding) in self._pending.items():
            payload = {
                "action_id": action_id,
                "name": request.name,
                "arguments": convert.to_dict(request.arguments),
            }
            approval = await self._gate.decision(
                call.ctx,
                str(call.key.action(action_id, binding)),
                approval_pb2.APPROVAL_KIND_ACTION,
                role,
                f"{call.agent} asks to perform {request.name}: {request.reason}",
                payload,
            )
            if expired(approval):
                raise expiry(approval, str(call.key))

    async def _judge(self, request: agent_pb2.ActionRequest) -> Judgement:
        ctx, agent = self._call.ctx, self._call.agent
        resource = Resource(
            kind="action",
            name=request.name,
            tenant=ctx.tenant,
            attributes={"workflow": ctx.spec.name, "agent": agent},
        )
        return await self._guard.judge(
            "agent.action",
            agent_subject(agent, ctx.tenant),
            resource,
            {
                "name": request.name,
                "arguments": convert.to_dict(request.arguments),
                "reason": request.reason,
            },
            run_id=ctx.run_id,
            step_key=str(self._call.key),
            clearances=agent_clearances(self._call),
            carrier=ctx.log,
        )

    def _decision(
        self, request: agent_pb2.ActionRequest, judged: Judgement
    ) -> agent_pb2.ActionDecision:
        allowed_actions = self._call.step.actions
        if request.name not in allowed_actions:
            # Whatever the agent was told (by a document, say), the workflow decides.
            allowed = ", ".join(allowed_actions) or "none"
            reason = f"action {request.name!r} is not allowed in this step (allowed: {allowed})"
            return _verdict(request, DENIED, reason)
        approved_before = self._approved_before(request)
        if judged.needs_approval and approved_before is not None:
            return approved_before  # this action, these arguments: a person decided
        if judged.allowed:
            return _verdict(request, ALLOWED, judged.explain())
        verdict = PENDING_APPROVAL if judged.needs_approval else DENIED
        return _verdict(request, verdict, judged.explain())

    def _approved_before(self, request: agent_pb2.ActionRequest) -> agent_pb2.ActionDecision | None:
        call = self._call
        key = call.key.action(request.action_id, _binding(request))
        # As ApprovalGate names it, now or before ids were shortened.
        names = {approval_id_of(call.ctx.run_id, str(key)), f"{call.ctx.run_id}-{key}"}
        return next((d for d in self.prior_decisions if d.approval_id in names), None)


async def _decided(gate: ApprovalGate, call: StepCall) -> list[agent_pb2.ActionDecision]:
    """Decisions people took on this step's actions in an earlier attempt, bound to the
    exact arguments they approved."""
    prefix = str(call.key.actions())
    return [
        _prior_decision(approval)
        for approval in await gate.decided_approvals(call.ctx)
        if approval.kind == approval_pb2.APPROVAL_KIND_ACTION
        and approval.step_key.startswith(prefix)
    ]


def _prior_decision(approval: approval_pb2.Approval) -> agent_pb2.ActionDecision:
    approved = approval.outcome != run_pb2.APPROVAL_OUTCOME_REJECTED
    decision = agent_pb2.ActionDecision(
        action_id=convert.to_dict(approval.payload)["action_id"],
        verdict=ALLOWED if approved else DENIED,
        reason=f"{run_pb2.ApprovalOutcome.Name(approval.outcome)} by {approval.decided_by}: {approval.comment}",
        approval_id=approval.approval_id,
    )
    if approved:
        edited = approval.outcome == run_pb2.APPROVAL_OUTCOME_EDITED
        arguments = (
            approval.edited_payload if edited else approval.payload.fields["arguments"].struct_value
        )
        decision.arguments.CopyFrom(arguments)
    return decision


def _verdict(
    request: agent_pb2.ActionRequest, verdict: agent_pb2.ActionVerdict, reason: str
) -> agent_pb2.ActionDecision:
    return agent_pb2.ActionDecision(action_id=request.action_id, verdict=verdict, reason=reason)


def _masked(request: agent_pb2.ActionRequest, judged: Judgement) -> agent_pb2.ActionRequest:
    """The request with policy's masks carried out on its arguments and reason."""
    masked = agent_pb2.ActionRequest(
        action_id=request.action_id,
        name=request.name,
        reason=judged.payload.get("reason", request.reason),
    )
    masked.arguments.update(judged.payload.get("arguments", {}))
    return masked


def _binding(request: agent_pb2.ActionRequest) -> str:
    """Digest of the exact action and arguments an approval is for, so a request with other
    arguments never finds it. Unkeyed: whoever sees an approval may read the run's data."""
    exact = {"name": request.name, "arguments": convert.to_dict(request.arguments)}
    canonical = json.dumps(exact, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]
