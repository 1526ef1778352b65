"""Checks of ordinary Invoke calls: the stream, the output, retries, deadlines, cancellation."""

from __future__ import annotations

import grpc

from airspace.agent.v1 import agent_pb2
from airspace.conformance import contract
from airspace.conformance.context import CheckContext, check
from airspace.conformance.model import CheckResult, Exchange, judge
from airspace.conformance.probe import Invocation

# Short enough that no agent finishes in time, long enough for the call to reach it.
EXPIRING_DEADLINE_SECONDS = 0.005


def _ended_in_full(invocation: Invocation, what: str) -> list[str]:
    """Problems of a call that should have run to its terminal event with status OK."""
    problems = [f"{what}: {p}" for p in contract.stream_problems(invocation.events)]
    if not invocation.ok:
        problems.append(f"{what}: the call ended with status {invocation.code.name}")
    return problems


@check(
    "invoke.stream",
    "Invoke streams numbered events and exactly one terminal event",
    expected="events numbered 1, 2, 3… without gaps, each with a kind, exactly one terminal "
    "event (final, handoff or error) and it comes last, then status OK",
    fix="number events from 1 per call, send exactly one terminal event, then close the stream",
)
async def stream(ctx: CheckContext, result: CheckResult) -> None:
    invocation = await ctx.baseline()
    result.exchanges.append(invocation.exchange())
    judge(result, _ended_in_full(invocation, "the call"))


@check(
    "invoke.output",
    "an ordinary input ends with a well-formed final output",
    expected="a FinalOutput with a message (ROLE_AGENT, authored by the agent), data or "
    "artifacts; confidence and progress fractions within 0..1; only announced event kinds",
    fix="return a final output for an input the agent can handle (or pass one with --input)",
)
async def output(ctx: CheckContext, result: CheckResult) -> None:
    invocation = await ctx.baseline()
    result.exchanges.append(invocation.exchange())
    kind = invocation.terminal_kind
    errors, warnings = contract.event_problems(invocation.events, ctx.card or agent_pb2.AgentCard())
    if kind == "error":
        errors.insert(0, "the agent answered the suite's input with an error")
        result.hint = "pass an input the agent can handle with --input"
    elif kind == "handoff":
        errors.insert(0, "the agent handed off although allowed_handoffs was empty")
    elif kind is None:
        errors.insert(0, "no terminal event arrived")
    judge(result, errors, warnings)


@check(
    "idempotency",
    "a retry with the same idempotency key gets the same result",
    expected="calling again with the same idempotency_key returns the same terminal event "
    "(text, data, artifacts, confidence): the agent deduplicates by key",
    fix="keep completed results by idempotency_key and replay them on a retry instead of "
    "working (and acting) again",
)
async def idempotency(ctx: CheckContext, result: CheckResult) -> None:
    first = await ctx.baseline()
    retry = await ctx.probe.invoke([await ctx.baseline_retry()])
    result.exchanges += [
        first.exchange("Invoke"),
        retry.exchange("Invoke again: attempt 2, same key"),
    ]
    errors = _ended_in_full(retry, "the retry")
    differences = []
    if first.terminal_kind != retry.terminal_kind:
        differences.append(
            f"the first call ended with {first.terminal_kind}, the retry with {retry.terminal_kind}"
        )
    elif first.terminal_kind == "final":
        before, after = (
            contract.output_of(first.terminal.final),
            contract.output_of(retry.terminal.final),
        )
        differences += [
            f"the retry's {name} differs: {before[name]!r} then {after[name]!r}"
            for name in before
            if before[name] != after[name]
        ]
    declared = ctx.card is not None and ctx.card.capabilities.idempotent
    if not declared and differences:
        judge(result, errors, [*differences, "the card does not declare idempotent"])
    else:
        judge(result, errors + differences)


@check(
    "deadline",
    "a call whose deadline passes ends cleanly and can be retried",
    expected="when the deadline passes the call ends with DEADLINE_EXCEEDED (never another "
    "status), and a retry with the same idempotency key then completes",
    fix="stop the attempt when the call's deadline passes (grpc deadline / context time "
    "remaining) and do not keep a half-done result under its idempotency key",
)
async def deadline(ctx: CheckContext, result: CheckResult) -> None:
    request = ctx.start()
    expired = await ctx.probe.invoke([request], timeout=EXPIRING_DEADLINE_SECONDS)
    millis = EXPIRING_DEADLINE_SECONDS * 1000
    result.exchanges.append(expired.exchange(f"Invoke with a {millis:.0f} ms deadline"))
    errors = []
    if expired.code not in (grpc.StatusCode.OK, grpc.StatusCode.DEADLINE_EXCEEDED):
        errors.append(f"the expired call ended with {expired.code.name}, not DEADLINE_EXCEEDED")
    elif expired.ok:
        errors += contract.stream_problems(expired.events)
    retry = await ctx.probe.invoke([ctx.retry(request)])
    result.exchanges.append(retry.exchange("Invoke again: attempt 2, same key"))
    errors += _ended_in_full(retry, "the retry after the deadline")
    judge(result, errors)


@check(
    "cancellation",
    "a call cancelled mid-stream leaves the agent ready for a retry",
    expected="after the caller cancels, the agent stops that attempt, stays SERVING and "
    "answers a retry with the same idempotency key in full",
    fix="on cancellation stop the handler and release what it holds; do not keep a half-done "
    "result under the idempotency key",
)
async def cancellation(ctx: CheckContext, result: CheckResult) -> None:
    request = ctx.start()
    cancelled = await ctx.probe.invoke([request], cancel_after_events=1)
    result.exchanges.append(cancelled.exchange("Invoke, cancelled after the first event"))
    errors = (
        []
        if cancelled.cancelled or cancelled.ok
        else [f"the call failed with {cancelled.code.name} before the suite could cancel it"]
    )
    status = await ctx.probe.health("")
    result.exchanges.append(Exchange("Health/Check", ["service=''"], [f"status {status}"]))
    if status != "SERVING":
        errors.append(f"after the cancellation the agent reports {status}")
    retry = await ctx.probe.invoke([ctx.retry(request)])
    result.exchanges.append(retry.exchange("Invoke again: attempt 2, same key"))
    errors += _ended_in_full(retry, "the retry after the cancellation")
    judge(result, errors)
