"""The step's input and context as policy lets the acting agent see them; policy may ask
a person before the agent receives them."""

from __future__ import annotations

import dataclasses

from airspace.router import reviews
from airspace.router.approval_gate import ApprovalGate
from airspace.router.guard import Guard, Judgement
from airspace.router.payload import ContextItem, Payload
from airspace.router.step.call import AgentOutput, AgentStage, StepCall
from airspace.router.step.policy import enforce, judge_for_agent
from airspace.v1 import approval_pb2, run_pb2


class InputPolicyStage:
    def __init__(self, next: AgentStage, guard: Guard, gate: ApprovalGate) -> None:
        self.next = next
        self._guard = guard
        self._gate = gate

    async def run(self, call: StepCall) -> AgentOutput:
        checked = {
            "input": call.input.to_dict(),
            "context": [item.to_dict() for item in call.context],
        }
        judged = await judge_for_agent(self._guard, call, "step.input", checked)
        enforce(call.ctx, call.key, call.agent, judged)
        if judged.needs_approval:
            await self._ask(call, judged)
        masked = judged.payload
        return await self.next.run(
            dataclasses.replace(
                call,
                input=Payload.from_dict(masked["input"]),
                context=[ContextItem.from_dict(item) for item in masked["context"]],
            )
        )

    async def _ask(self, call: StepCall, judged: Judgement) -> None:
        point = reviews.point_of(call.step)
        approval = await reviews.decide(
            self._gate,
            call.ctx,
            call.key.input(),
            approval_pb2.APPROVAL_KIND_POLICY,
            point,
            judged.approver_role or point.role,
            f"Policy asks a person before {call.agent} receives this input: {judged.explain()}.",
            judged.payload["input"],
        )
        if approval.outcome == run_pb2.APPROVAL_OUTCOME_REJECTED:
            raise reviews.rejection(approval, call.key)
