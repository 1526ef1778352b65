"""The InvokeStart message that opens a step attempt's stream to its agent."""

from __future__ import annotations

from airspace.agent.v1 import agent_pb2
from airspace.router.run_context import RunContext
from airspace.router.step.call import StepCall


def start_message(
    call: StepCall, prior_decisions: list[agent_pb2.ActionDecision]
) -> agent_pb2.InvokeStart:
    """What the agent is told: the step, its (masked) input and context, where it may hand
    off, which actions it may ask for, and the budget left."""
    ctx, step, key = call.ctx, call.step, str(call.key)
    start = agent_pb2.InvokeStart(
        idempotency_key=f"{ctx.run_id}/{key}",
        run_id=ctx.run_id,
        step_key=key,
        trace_id=ctx.run.trace_id,
        tenant=ctx.tenant,
        workflow=ctx.run.workflow,
        step_name=step.name,
        input=call.input.message(agent_pb2.ROLE_USER, "router"),
        context=[item.message() for item in call.context],
        memory_namespace=f"run/{ctx.run_id}",
        hop_count=ctx.usage.hops,
        allowed_handoffs=call.handoff_targets or (),
        allowed_actions=step.actions,
        prior_action_decisions=prior_decisions,
    )
    start.parameters.update(step.parameters)
    _set_budget(start.budget, ctx)
    return start


def _set_budget(left: agent_pb2.Budget, ctx: RunContext) -> None:
    """What is left of each of the run's budgets (a budget the workflow does not set stays 0)."""
    budget, usage, hop_limit = ctx.spec.budget, ctx.usage, ctx.spec.hop_limit
    if budget.max_steps:
        left.steps_left = budget.max_steps - usage.steps
    if budget.max_tokens:
        left.tokens_left = budget.max_tokens - usage.tokens
    if budget.max_cost_micros:
        left.cost_micros_left = budget.max_cost_micros - usage.cost_micros
    if hop_limit is not None:
        left.hops_left = max(hop_limit - usage.hops, 0)
    left.time_left.FromNanoseconds(int(max(ctx.time_left(), 0) * 1e9))
