"""Workflow patterns: each runs a whole workflow over the step runner and returns its output."""

from collections.abc import Awaitable, Callable
from typing import Any

from airspace.router.patterns.concurrent import run_concurrent
from airspace.router.patterns.group_chat import run_group_chat
from airspace.router.patterns.handoff import run_handoff
from airspace.router.patterns.sequential import run_sequential
from airspace.router.run_context import RunContext
from airspace.router.spec.model import Pattern
from airspace.router.step_runner import StepRunner

PatternRunner = Callable[[RunContext, StepRunner, dict[str, Any]], Awaitable[dict[str, Any]]]
RUNNERS: dict[Pattern, PatternRunner] = {
    Pattern.SEQUENTIAL: run_sequential,
    Pattern.CONCURRENT: run_concurrent,
    Pattern.GROUP_CHAT: run_group_chat,
    Pattern.HANDOFF: run_handoff,
}


async def run_pattern(
    ctx: RunContext, runner: StepRunner, run_input: dict[str, Any]
) -> dict[str, Any]:
    return await RUNNERS[ctx.spec.pattern](ctx, runner, run_input)
