"""Sequential pattern: steps in order; each step's output feeds the next."""

from __future__ import annotations

from airspace.v1 import run_pb2
from services.router.run_context import RunContext, RunFailure, step_key
from services.router.run_log import event
from services.router.step_runner import StepRunner


async def run_sequential(ctx: RunContext, runner: StepRunner, run_input: dict) -> dict:
    """Returns the run's output: the last completed step's output."""
    steps = ctx.spec.steps
    names = [step.name for step in steps]
    current = {
        "text": run_input.get("text", ""),
        "data": {key: value for key, value in run_input.items() if key != "text"},
    }
    context: list[dict] = []
    output: dict = {}
    for index, step in enumerate(steps):
        key = step_key(index, step.name)
        if key not in ctx.journal:
            await ctx.log.append(event(key, step.agent, routing_decision=_next_step(names, index)))
        try:
            result = await runner.run(ctx, key, step, current, context)
        except RunFailure as failure:
            if step.on_failure != "continue":
                raise
            await ctx.log.append(
                event(
                    key,
                    step.agent,
                    routing_decision=run_pb2.RoutingDecision(
                        kind=run_pb2.ROUTING_KIND_NEXT_STEP,
                        candidates=names[index + 1 : index + 2],
                        chosen=names[index + 1] if index + 1 < len(names) else "",
                        decided_by=f"step:{step.name}.on_failure",
                        reason=f"step failed ({failure.code}) and is marked on_failure: continue",
                    ),
                )
            )
            continue
        context.append({"author": step.agent, **result})
        current = {"text": result.get("text", ""), "data": result.get("data", {})}
        output = {"step": step.name, "agent": step.agent, **result}
    return output


def _next_step(names: list[str], index: int) -> run_pb2.RoutingDecision:
    reason = (
        "first step of the workflow"
        if index == 0
        else f"step {index + 1} of {len(names)}, after {names[index - 1]!r}"
    )
    return run_pb2.RoutingDecision(
        kind=run_pb2.ROUTING_KIND_NEXT_STEP,
        candidates=[names[index]],
        chosen=names[index],
        decided_by="pattern:sequential",
        reason=reason,
    )
