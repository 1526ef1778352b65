"""An agent's output before it is journaled: valid by the step's output contract, then
judged (and masked) by policy, which may ask a person to review it."""

from __future__ import annotations

import dataclasses

from airspace.agent.v1 import agent_pb2
from airspace.mesh.reasons import Reason
from airspace.router import convert, reviews, validation
from airspace.router.attempt import Attempt
from airspace.router.guard import Guard
from airspace.router.payload import Payload
from airspace.router.run_context import RunFailure
from airspace.router.step.call import AgentOutput, AgentStage, StepCall
from airspace.router.step.failures import record_failure
from airspace.router.step.policy import enforce, judge_for_agent


class OutputPolicyStage:
    """Carries out policy's masks on the output, and decides whether a person reviews it."""

    def __init__(self, next: AgentStage, guard: Guard) -> None:
        self.next = next
        self._guard = guard

    async def run(self, call: StepCall) -> AgentOutput:
        output = await self.next.run(call)
        judged = await judge_for_agent(self._guard, call, "step.output", output.payload.to_dict())
        enforce(call.ctx, call.key, call.agent, judged)
        masked = Payload.from_dict(judged.payload)
        review = reviews.output_review(
            call.step,
            masked,
            judged.approver_role,
            judged.explain() if judged.needs_approval else "",
        )
        return dataclasses.replace(
            output,
            final=_with_payload(output.final, masked),
            payload=masked,
            review=review,
        )


class OutputValidationStage:
    """Fails the step when its output breaks the step's size, schema or rules."""

    def __init__(self, next: AgentStage) -> None:
        self.next = next

    async def run(self, call: StepCall) -> AgentOutput:
        output = await self.next.run(call)
        invalid = validation.output_problems(call.step.output, output.payload)
        if not invalid:
            return output
        failed = Attempt(output.duration, failure=invalid, failure_code=Reason.OUTPUT_INVALID)
        record_failure(call, output.attempt, failed, will_retry=False)
        raise RunFailure(
            f"step {call.step.name!r} (agent {call.agent}) produced invalid output: {invalid}",
            Reason.OUTPUT_INVALID,
            str(call.key),
            call.agent,
        )


def _with_payload(final: agent_pb2.FinalOutput, payload: Payload) -> agent_pb2.FinalOutput:
    """The agent's output with policy's masks carried out on its text and data."""
    masked = agent_pb2.FinalOutput()
    masked.CopyFrom(final)
    masked.message.CopyFrom(
        convert.build_message(agent_pb2.ROLE_AGENT, final.message.author, payload.text)
    )
    masked.data.Clear()
    masked.data.update(payload.data)
    return masked
