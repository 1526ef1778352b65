"""An agent's output before it is journaled: valid by the step's output contract, then
judged (and masked) by policy, which may ask a person to review it."""

from __future__ import annotations

import dataclasses

from airspace.agent.v1 import agent_pb2
from airspace.mesh.reasons import Reason
from airspace.router import convert, reviews, validation
from airspace.router.attempt import Attempt
from airspace.router.guard import Guard
from airspace.router.payload import ContextItem, Payload
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
    """Fails the step when its output breaks the step's size, schema or rules; or, with
    `retry_invalid_output: true`, asks the agent again (within the step's attempts) with
    what was wrong as a system message of its context."""

    def __init__(self, next: AgentStage) -> None:
        self.next = next

    async def run(self, call: StepCall) -> AgentOutput:
        asking, answers = call, 0
        while True:
            output = await self.next.run(asking)
            invalid = validation.output_problems(call.step.output, output.payload)
            if not invalid:
                return output
            answers += 1
            again = call.step.output.retry_invalid and answers < call.step.retry.max_attempts
            failed = Attempt(output.duration, failure=invalid, failure_code=Reason.OUTPUT_INVALID)
            record_failure(asking, output.attempt, failed, will_retry=again)
            if not again:
                raise RunFailure(
                    f"step {call.step.name!r} (agent {call.agent}) produced invalid output: {invalid}",
                    Reason.OUTPUT_INVALID,
                    str(call.key),
                    call.agent,
                )
            asking = _corrected(call, answers, invalid)


def _corrected(call: StepCall, answers: int, invalid: str) -> StepCall:
    """The step asked again under a key of its own (a new idempotency key: the agent must
    not replay its invalid answer), told what was wrong."""
    told = Payload(
        f"Your previous output was invalid: {invalid}. Answer again, fixing that.",
    )
    notice = ContextItem("router", told, agent_pb2.ROLE_SYSTEM)
    return dataclasses.replace(
        call, key=call.key.corrected(answers), context=[*call.context, notice]
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
