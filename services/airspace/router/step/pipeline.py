"""A step as a chain of stages, outermost first; each does one job and calls the next.

    reviews → journal replay → budget → fallback → journal and metering
      → output policy → output validation → input policy → attempts

Stages above the journal answer with the step's result; stages below it with the
agent's output, which the journal stage records.
"""

from __future__ import annotations

from airspace.router.agent_invoker import AgentInvoker
from airspace.router.approval_gate import ApprovalGate
from airspace.router.guard import Guard
from airspace.router.step.attempt import AttemptStage
from airspace.router.step.budget import BudgetStage
from airspace.router.step.call import AgentStage, StepStage
from airspace.router.step.fallback import FallbackStage
from airspace.router.step.input_policy import InputPolicyStage
from airspace.router.step.invocation import Invocation
from airspace.router.step.journal import JournalStage, ReplayStage
from airspace.router.step.output import OutputPolicyStage, OutputValidationStage
from airspace.router.step.review import ReviewStage


def step_pipeline(
    guard: Guard, invoker: AgentInvoker, gate: ApprovalGate, default_timeout: float
) -> StepStage:
    agent_side: AgentStage = AttemptStage(Invocation(invoker, default_timeout), guard, gate)
    agent_side = InputPolicyStage(agent_side, guard, gate)
    agent_side = OutputValidationStage(agent_side)
    agent_side = OutputPolicyStage(agent_side, guard)
    step_side: StepStage = JournalStage(agent_side)
    step_side = FallbackStage(step_side)
    step_side = BudgetStage(step_side)
    step_side = ReplayStage(step_side)
    return ReviewStage(step_side, gate, guard)
