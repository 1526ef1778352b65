"""Workflow patterns: each runs a whole workflow over the step runner and returns its output."""

from services.router.patterns.sequential import run_sequential

RUNNERS = {
    "sequential": run_sequential,
}


async def run_pattern(ctx, runner, run_input: dict) -> dict:
    return await RUNNERS[ctx.spec.pattern](ctx, runner, run_input)
