"""Runs one workflow step for a pattern, through the step's chain of stages
(step/pipeline.py): reviews, journal, budget, fallback, policy and the agent's attempts."""

from __future__ import annotations

from airspace.mesh import logs
from airspace.router.agent_invoker import AgentInvoker
from airspace.router.approval_gate import ApprovalGate
from airspace.router.guard import Guard
from airspace.router.payload import ContextItem, Payload
from airspace.router.run_context import RunContext
from airspace.router.spec import Step
from airspace.router.step.call import StepCall, StepResult
from airspace.router.step.pipeline import step_pipeline
from airspace.router.step_key import StepKey


class StepRunner:
    def __init__(
        self, guard: Guard, invoker: AgentInvoker, gate: ApprovalGate, default_timeout: float
    ) -> None:
        # Patterns ask for human decisions through the runner they are given.
        self.gate = gate
        self._pipeline = step_pipeline(guard, invoker, gate, default_timeout)

    async def run(
        self,
        ctx: RunContext,
        key: StepKey,
        step: Step,
        step_input: Payload,
        context: list[ContextItem],
        *,
        handoff_targets: list[str] | None = None,
    ) -> StepResult:
        """Runs the step (or reads it from the journal) and returns its result.

        `handoff_targets` are the agents the workflow lets this step hand off to; None
        means the pattern has no handoffs and a handoff request fails the step."""
        call = StepCall(ctx, key, step, step_input, context, handoff_targets, step.agent)
        with logs.step(str(key)):
            return await self._pipeline.run(call)
