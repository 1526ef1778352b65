"""Checks of bad input: protocol mistakes get INVALID_ARGUMENT naming the field, unusable
task input gets an AgentError event."""

from __future__ import annotations

import grpc

from airspace.agent.v1 import agent_pb2
from airspace.conformance import contract
from airspace.conformance.context import CheckContext, check
from airspace.conformance.model import CheckResult, judge
from airspace.conformance.probe import Invocation

REQUIRED_START_FIELDS = ("start.idempotency_key", "start.run_id", "start.step_key")
_NAME_FIELDS = "add a google.rpc.BadRequest detail whose field violations name the field"


def _refused(invocation: Invocation, fields: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """(errors, warnings) of a call that should end with INVALID_ARGUMENT naming `fields`."""
    errors: list[str] = []
    warnings: list[str] = []
    if invocation.events:
        errors.append(
            f"the agent sent {len(invocation.events)} event(s) instead of refusing the call"
        )
    if invocation.code != grpc.StatusCode.INVALID_ARGUMENT:
        errors.append(f"status {invocation.code.name}, expected INVALID_ARGUMENT")
        return errors, warnings
    named = {field for field, _ in invocation.violations}
    unnamed = [field for field in fields if field not in named]
    if unnamed:
        warnings.append(f"the status does not name {', '.join(unnamed)} in its field violations")
    return errors, warnings


@check(
    "errors.first_message",
    "a stream that does not begin with start is refused",
    expected="first message action_decision → status INVALID_ARGUMENT naming the field start",
    fix="check that the first InvokeRequest has `start` set; otherwise end the call with "
    "INVALID_ARGUMENT",
)
async def first_message(ctx: CheckContext, result: CheckResult) -> None:
    decision = agent_pb2.ActionDecision(
        action_id="nothing#1", verdict=agent_pb2.ACTION_VERDICT_ALLOWED
    )
    invocation = await ctx.probe.invoke(
        [agent_pb2.InvokeRequest(action_decision=decision)], keep_open=False
    )
    result.exchanges.append(invocation.exchange())
    errors, warnings = _refused(invocation, ("start",))
    if warnings:
        result.hint = _NAME_FIELDS
    judge(result, errors, warnings)


@check(
    "errors.empty_stream",
    "a stream closed without any message is refused",
    expected="no message, then half-close → status INVALID_ARGUMENT naming the field start",
    fix="when the request stream ends before a start message, end the call with INVALID_ARGUMENT",
)
async def empty_stream(ctx: CheckContext, result: CheckResult) -> None:
    invocation = await ctx.probe.invoke([], keep_open=False)
    invocation.sent.append("(no message: the request stream is closed at once)")
    result.exchanges.append(invocation.exchange())
    errors, warnings = _refused(invocation, ("start",))
    if warnings:
        result.hint = _NAME_FIELDS
    judge(result, errors, warnings)


@check(
    "errors.required_fields",
    "a start without its ids is refused, naming each missing field",
    expected="start without idempotency_key, run_id and step_key → status INVALID_ARGUMENT "
    "with field violations start.idempotency_key, start.run_id and start.step_key",
    fix="validate the start message before working and report every missing field",
)
async def required_fields(ctx: CheckContext, result: CheckResult) -> None:
    request = ctx.start()
    for field in REQUIRED_START_FIELDS:
        request.start.ClearField(field.removeprefix("start."))
    invocation = await ctx.probe.invoke([request], keep_open=False)
    result.exchanges.append(invocation.exchange())
    errors, warnings = _refused(invocation, REQUIRED_START_FIELDS)
    if warnings:
        result.hint = _NAME_FIELDS
    judge(result, errors, warnings)


@check(
    "errors.unusable_input",
    "an unusable task input ends with an AgentError event, not a crash",
    expected="a start whose input message is empty → a normal stream ending with a final "
    "output or an AgentError (kind INVALID_INPUT), then status OK",
    fix="catch input the agent cannot use and end with AgentError INVALID_INPUT; statuses "
    "are for protocol mistakes, events for the task's own failures",
)
async def unusable_input(ctx: CheckContext, result: CheckResult) -> None:
    invocation = await ctx.probe.invoke([ctx.start(text="")])
    result.exchanges.append(invocation.exchange())
    errors = contract.stream_problems(invocation.events)
    warnings = []
    if not invocation.ok:
        errors.append(f"the call ended with status {invocation.code.name}, not an AgentError event")
    terminal = invocation.terminal
    if (
        terminal.WhichOneof("kind") == "error"
        and terminal.error.kind != agent_pb2.AGENT_ERROR_KIND_INVALID_INPUT
    ):
        kind = agent_pb2.AgentErrorKind.Name(terminal.error.kind)
        warnings.append(
            f"the AgentError kind is {kind}; INVALID_INPUT tells the router not to retry"
        )
    judge(result, errors, warnings)
