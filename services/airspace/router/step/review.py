"""The outermost stage: people in the loop of a step (see reviews.py).

A go-ahead before the step runs; a review of its output when the output asks for one,
where a person approves it, edits it, or rejects it (the step then runs again with
their comment, as often as the workflow allows).
"""

from __future__ import annotations

import dataclasses

from airspace.agent.v1 import agent_pb2
from airspace.mesh.reasons import Reason
from airspace.policy.engine.model import Resource
from airspace.router import convert, reviews, validation
from airspace.router.approval_gate import ApprovalGate
from airspace.router.guard import Guard, agent_subject
from airspace.router.payload import ContextItem, Payload
from airspace.router.run_context import RunFailure
from airspace.router.spec.model import ApprovalPoint
from airspace.router.step.call import StepCall, StepResult, StepStage
from airspace.router.step.policy import enforce
from airspace.v1 import approval_pb2, run_pb2


class ReviewStage:
    def __init__(self, next: StepStage, gate: ApprovalGate, guard: Guard) -> None:
        self.next = next
        self._gate = gate
        self._guard = guard

    async def run(self, call: StepCall) -> StepResult:
        point = reviews.point_of(call.step)
        if point.before:
            await self._go_ahead(call, point)
        result = await self.next.run(call)
        retries = 0
        while result.review is not None:
            approval = await self._review(call, point, result, retries)
            if approval.outcome != run_pb2.APPROVAL_OUTCOME_REJECTED:
                await self._reopen(call, approval)
            if approval.outcome == run_pb2.APPROVAL_OUTCOME_APPROVED:
                return dataclasses.replace(result, review=None)
            if approval.outcome == run_pb2.APPROVAL_OUTCOME_EDITED:
                return await self._edited(call, result, approval)
            if point.on_reject != "retry" or retries >= point.max_reviews:
                raise reviews.rejection(approval, call.key)
            retries += 1
            result = await self.next.run(_again(call, retries, approval))
        return result

    async def _reopen(self, call: StepCall, approval: approval_pb2.Approval) -> None:
        """The run paused for this review before the pattern went past the step; when the
        decision is the run's latest, no execution has gone past it since, so this one
        records what follows the step (RunContext.recorded)."""
        decided = await self._gate.decided_approvals(call.ctx)
        latest = max(decided, key=lambda a: a.decide_time.ToMicroseconds(), default=None)
        if latest is not None and latest.approval_id == approval.approval_id:
            call.ctx.reopened.add(str(call.key))

    async def _go_ahead(self, call: StepCall, point: ApprovalPoint) -> None:
        step = call.step
        approval = await reviews.decide(
            self._gate,
            call.ctx,
            call.key.before(),
            approval_pb2.APPROVAL_KIND_CHECKPOINT,
            point,
            point.role,
            f"Step {step.name!r} ({step.agent}) waits for a go-ahead.",
            call.input.to_dict(),
        )
        if approval.outcome == run_pb2.APPROVAL_OUTCOME_REJECTED:
            raise reviews.rejection(approval, call.key)

    async def _review(
        self, call: StepCall, point: ApprovalPoint, result: StepResult, retries: int
    ) -> approval_pb2.Approval:
        """A person's decision on the output of the step's first run or of its retry."""
        review = result.review or {}
        reviewed = call.key.retry(retries) if retries else call.key
        return await reviews.decide(
            self._gate,
            call.ctx,
            reviewed.review(),
            reviews.KINDS[review["kind"]],
            point,
            review["role"],
            f"Review the output of step {call.step.name!r}: {review['reason']}.",
            result.payload.to_dict(),
        )

    async def _edited(
        self, call: StepCall, result: StepResult, approval: approval_pb2.Approval
    ) -> StepResult:
        """An approver's edit replaces the output once it passes the same checks as agent output."""
        ctx, edited = call.ctx, convert.to_dict(approval.edited_payload)
        payload = Payload(edited.get("text", ""), edited.get("data", {}))
        invalid = validation.output_problems(call.step.output, payload)
        if invalid:
            raise RunFailure(
                f"the edit of {approval.decided_by} is not valid output of step {call.step.name!r}: {invalid}",
                Reason.OUTPUT_INVALID,
                str(call.key),
            )
        judged = await self._guard.judge(
            "step.output",
            agent_subject(result.agent, ctx.tenant),
            Resource(kind="agent", name=result.agent, tenant=ctx.tenant),
            payload.to_dict(),
            run_id=ctx.run_id,
            step_key=str(call.key),
            carrier=ctx.log,
        )
        enforce(ctx, call.key.edited(), result.agent, judged)
        return dataclasses.replace(result, payload=Payload.from_dict(judged.payload), review=None)


def _again(call: StepCall, retries: int, rejected: approval_pb2.Approval) -> StepCall:
    """The step to run once more after a rejection, with the reviewer's comment."""
    comment = ContextItem(rejected.decided_by, Payload(rejected.comment), agent_pb2.ROLE_SYSTEM)
    return dataclasses.replace(call, key=call.key.retry(retries), context=[*call.context, comment])
