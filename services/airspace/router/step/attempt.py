"""The innermost stage: the agent's attempts at the step, retried with backoff while the
failure allows and the step's retry policy has attempts left."""

from __future__ import annotations

import asyncio
import random

from airspace.agent.v1 import agent_pb2
from airspace.mesh.reasons import Reason
from airspace.router import convert, metrics
from airspace.router.approval_gate import ApprovalGate
from airspace.router.attempt import Attempt
from airspace.router.guard import Guard
from airspace.router.payload import Payload
from airspace.router.run_context import RunFailure
from airspace.router.run_log import event
from airspace.router.spec import RetryPolicy
from airspace.router.step.actions import StepActions
from airspace.router.step.call import AgentOutput, StepCall
from airspace.router.step.failures import record_failure
from airspace.router.step.invocation import Invocation
from airspace.router.step.start import start_message
from airspace.v1 import run_pb2


class AttemptStage:
    def __init__(self, invocation: Invocation, guard: Guard, gate: ApprovalGate) -> None:
        self._invocation = invocation
        self._guard = guard
        self._gate = gate

    async def run(self, call: StepCall) -> AgentOutput:
        registration = call.ctx.agent(call.agent, str(call.key))
        actions = await StepActions.of(self._guard, self._gate, call)
        start = start_message(call, actions.prior_decisions)
        number = 0
        while True:
            number += 1
            start.attempt = number
            attempt = await self._invocation.attempt(call, registration, start, actions)
            handed_off = attempt.handoff is not None and call.handoff_targets is not None
            if attempt.final is not None or handed_off:
                return _output(number, attempt)
            await self._failed(call, actions, number, attempt)

    async def _failed(
        self, call: StepCall, actions: StepActions, number: int, attempt: Attempt
    ) -> None:
        """Records a failed attempt, and waits before the next one or fails the step."""
        if attempt.failure_code == Reason.AGENT_PENDING_APPROVAL:
            await actions.ask_people()
        if attempt.handoff is not None:
            _refuse_handoff(call, attempt.handoff)
            attempt.failure = f"asked to hand off to {attempt.handoff.target!r}, which a {call.ctx.spec.pattern} workflow does not allow"
            attempt.failure_code, attempt.retryable = Reason.HANDOFF_NOT_ALLOWED, False
        will_retry = attempt.retryable and number < call.step.retry.max_attempts
        record_failure(call, number, attempt, will_retry=will_retry)
        if not will_retry:
            raise RunFailure(
                f"step {call.step.name!r} (agent {call.agent}) failed after {number} attempt(s): {attempt.failure}",
                attempt.failure_code,
                str(call.key),
                call.agent,
            )
        delay = min(backoff(call.step.retry, number), max(call.ctx.time_left(), 0))
        scheduled = run_pb2.RetryScheduled(
            next_attempt=number + 1, backoff=convert.to_duration(delay), reason=attempt.failure
        )
        call.ctx.log.record(event(str(call.key), call.agent, retry_scheduled=scheduled))
        metrics.record_retry(call.agent)
        await asyncio.sleep(delay)


def backoff(policy: RetryPolicy, failed_attempt: int) -> float:
    """Exponential backoff with full jitter."""
    ceiling = min(
        policy.max_backoff, policy.initial_backoff * policy.multiplier ** (failed_attempt - 1)
    )
    return random.uniform(0, ceiling)


def _output(number: int, attempt: Attempt) -> AgentOutput:
    final = attempt.final
    if final is None:  # a handing-off agent's message and data: checked like any output
        assert attempt.handoff is not None, "an attempt ends with an output or a handoff"
        final = agent_pb2.FinalOutput(message=attempt.handoff.message, data=attempt.handoff.data)
    return AgentOutput(
        final=final,
        payload=Payload.of_output(final),
        attempt=number,
        duration=attempt.duration,
        usage=attempt.usage,
        handoff=attempt.handoff,
    )


def _refuse_handoff(call: StepCall, handoff: agent_pb2.HandoffRequest) -> None:
    refused = run_pb2.Handoff(
        from_agent=call.agent,
        to_agent=handoff.target,
        reason=handoff.reason,
        accepted=False,
        decision_reason=f"the {call.ctx.spec.pattern} pattern has no handoff graph",
        hop=call.ctx.usage.hops,
    )
    call.ctx.log.record(event(str(call.key), call.agent, handoff=refused))
    metrics.record_handoff(call.agent, accepted=False)
