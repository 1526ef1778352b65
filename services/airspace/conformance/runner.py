"""Runs the suite's checks in order against one agent and collects their results."""

from __future__ import annotations

import asyncio
import time

import grpc

from airspace.conformance import checks_behaviour, checks_card, checks_errors, checks_invoke
from airspace.conformance.context import Check, CheckContext
from airspace.conformance.model import CheckResult, Report, Status, SuiteOptions, judge, skip
from airspace.conformance.probe import AgentProbe

SUITE: tuple[Check, ...] = (
    checks_card.health,
    checks_card.card,
    checks_invoke.stream,
    checks_invoke.output,
    checks_invoke.idempotency,
    checks_invoke.deadline,
    checks_invoke.cancellation,
    checks_errors.first_message,
    checks_errors.empty_stream,
    checks_errors.required_fields,
    checks_errors.unusable_input,
    checks_behaviour.handoff,
    checks_behaviour.actions,
)
# A check makes at most a few calls, each bounded by the call timeout.
_CHECK_TIMEOUT_FACTOR = 4


def selected(only: tuple[str, ...]) -> list[Check]:
    """The checks named by id or id prefix ("errors" selects every errors.* check)."""
    if not only:
        return list(SUITE)
    unknown = [name for name in only if not any(_matches(c.id, name) for c in SUITE)]
    if unknown:
        raise ValueError(
            f"no check is named {', '.join(unknown)}; the checks are {', '.join(c.id for c in SUITE)}"
        )
    return [c for c in SUITE if any(_matches(c.id, name) for name in only)]


def _matches(check_id: str, name: str) -> bool:
    return check_id == name or check_id.startswith(f"{name}.")


async def run_suite(target: str, options: SuiteOptions | None = None) -> Report:
    options = options or SuiteOptions()
    checks = selected(options.only)
    began = time.monotonic()
    probe = AgentProbe(target, options.timeout)
    ctx = CheckContext(probe, options)
    results = []
    try:
        if checks_card.card not in checks:
            await _fetch_card_quietly(ctx)  # other checks read the card's input examples
        for current in checks:
            result = CheckResult(current.id, current.title, Status.PASS, current.expected)
            if ctx.unreachable:
                skip(result, f"nothing answers at {target}")
            else:
                await _run(current, ctx, result)
            results.append(result)
    finally:
        await probe.close()
    return Report(target, ctx.card.name if ctx.card else "", results, time.monotonic() - began)


async def _run(current: Check, ctx: CheckContext, result: CheckResult) -> None:
    limit = _CHECK_TIMEOUT_FACTOR * ctx.options.timeout
    try:
        async with asyncio.timeout(limit):
            await current.run(ctx, result)
    except TimeoutError:
        judge(result, [f"the check did not finish within {limit:.0f}s: the agent seems to hang"])
    except grpc.aio.AioRpcError as exc:
        judge(result, [f"an unexpected status {exc.code().name}: {exc.details()}"])
    if result.status is Status.FAIL and not result.hint:
        result.hint = current.fix


async def _fetch_card_quietly(ctx: CheckContext) -> None:
    try:
        ctx.card = await ctx.probe.card()
    except grpc.aio.AioRpcError as exc:
        ctx.unreachable = exc.code() in (
            grpc.StatusCode.UNAVAILABLE,
            grpc.StatusCode.DEADLINE_EXCEEDED,
        )
