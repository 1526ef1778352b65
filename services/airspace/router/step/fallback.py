"""A step whose agent fails goes once to the step's fallback agent, as a recorded decision."""

from __future__ import annotations

import dataclasses

from airspace.router.run_context import RunFailure
from airspace.router.run_log import event
from airspace.router.step.call import StepCall, StepResult, StepStage
from airspace.v1 import run_pb2


class FallbackStage:
    def __init__(self, next: StepStage) -> None:
        self.next = next

    async def run(self, call: StepCall) -> StepResult:
        try:
            return await self.next.run(call)
        except RunFailure as failure:
            fallback = call.step.fallback_agent
            # Only an agent's own failure (not policy's, nor the run's) calls for another agent.
            if not fallback or call.agent == fallback or not failure.agent:
                raise
            _record_fallback(call, fallback, failure)
            return await self.next.run(dataclasses.replace(call, agent=fallback))


def _record_fallback(call: StepCall, fallback: str, failure: RunFailure) -> None:
    decision = run_pb2.RoutingDecision(
        kind=run_pb2.ROUTING_KIND_FALLBACK,
        candidates=[call.agent, fallback],
        chosen=fallback,
        decided_by=f"step:{call.step.name}.fallback_agent",
        reason=f"{call.agent} failed: {failure.message}",
    )
    call.ctx.log.record(event(str(call.key), fallback, routing_decision=decision))
