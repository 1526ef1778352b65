"""Budgets end runaway runs: steps, and the tokens and cost the agents report."""

from __future__ import annotations

from airspace.mesh.reasons import Reason
from airspace.router.run_context import RunContext, RunFailure
from airspace.router.step.call import StepCall, StepResult, StepStage
from airspace.router.step_key import StepKey


class BudgetStage:
    """Refuses a step the run has no budget left for, and ends the run once a step's
    spending passes the budget."""

    def __init__(self, next: StepStage) -> None:
        self.next = next

    async def run(self, call: StepCall) -> StepResult:
        ctx = call.ctx
        max_steps = ctx.spec.budget.max_steps
        if max_steps and ctx.usage.steps >= max_steps:
            raise RunFailure(
                f"the run used its budget of {max_steps} steps",
                Reason.BUDGET_EXCEEDED,
                str(call.key),
            )
        _check_spend(ctx, call.key, before_step=True)
        result = await self.next.run(call)
        _check_spend(ctx, call.key, before_step=False)
        return result


def _check_spend(ctx: RunContext, key: StepKey, *, before_step: bool) -> None:
    """Ends the run once the tokens or cost its agents reported pass the run's budget (or,
    before a step, leave nothing for it)."""
    budget, usage = ctx.spec.budget, ctx.usage
    for spent, limit, unit, field in (
        (usage.tokens, budget.max_tokens, "tokens", "max_tokens"),
        (usage.cost_micros, budget.max_cost_micros, "micro-units of cost", "max_cost_micros"),
    ):
        if limit and (spent > limit or (before_step and spent == limit)):
            share = "over" if spent > limit else "all of"
            raise RunFailure(
                f"the run's agents reported {spent} {unit}, {share} its budget of {limit} "
                f"(budget.{field})",
                Reason.BUDGET_EXCEEDED,
                str(key),
            )
