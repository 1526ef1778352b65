"""Checks of the events that need the mesh's consent: handoff requests and action requests.

An agent hands off or asks to act only for some inputs, so these checks run with inputs the
developer names (--handoff-input, --action-input) and are skipped otherwise."""

from __future__ import annotations

import functools

from airspace.agent.v1 import agent_pb2
from airspace.conformance import contract
from airspace.conformance.context import CheckContext, check
from airspace.conformance.model import CheckResult, judge, skip
from airspace.conformance.probe import Invocation

# Time an agent gets to (wrongly) go on before the suite answers its action request.
DECISION_DELAY_SECONDS = 0.2
_VERDICTS = (
    agent_pb2.ACTION_VERDICT_ALLOWED,
    agent_pb2.ACTION_VERDICT_DENIED,
    agent_pb2.ACTION_VERDICT_PENDING_APPROVAL,
)


@check(
    "handoff",
    "a handoff names an offered target, a reason and context",
    expected="with allowed_handoffs offered: a terminal HandoffRequest whose target is one of "
    "them, with a reason and a message or data; with none offered: no handoff",
    fix="hand off only to a target in allowed_handoffs, say why in reason, and pass what the "
    "target needs in message or data",
)
async def handoff(ctx: CheckContext, result: CheckResult) -> None:
    if ctx.card is None or not ctx.card.capabilities.handoff:
        skip(result, "the card does not declare the handoff capability")
        return
    if not ctx.options.handoff_input:
        skip(result, "give --handoff-input with an input that makes the agent hand off")
        return
    offered = [ctx.options.handoff_target]
    allowed = await ctx.probe.invoke(
        [ctx.start(ctx.options.handoff_input, allowed_handoffs=offered)]
    )
    refused = await ctx.probe.invoke([ctx.start(ctx.options.handoff_input)])
    result.exchanges += [
        allowed.exchange(f"Invoke offering {offered[0]!r}"),
        refused.exchange("Invoke offering no handoff"),
    ]
    errors = contract.stream_problems(allowed.events) + contract.stream_problems(refused.events)
    if allowed.terminal_kind != "handoff":
        errors.append(f"with a handoff target offered the agent ended with {allowed.terminal_kind}")
        result.hint = "check that --handoff-input makes the agent hand off"
    else:
        errors += contract.handoff_problems(allowed.terminal.handoff, offered)
    if refused.terminal_kind == "handoff":
        errors.append(
            f"with no target offered the agent still handed off to {refused.terminal.handoff.target!r}"
        )
    judge(result, errors)


@check(
    "actions",
    "action requests wait for the mesh's decision and respect it",
    expected="a named, uniquely numbered ActionRequest for an allowed action; nothing terminal "
    "until the decision; ALLOWED → final output, DENIED → any terminal event, "
    "PENDING_APPROVAL → AgentError PENDING_APPROVAL",
    fix="send the ActionRequest, wait for the ActionDecision with the same action_id, and end "
    "with AgentError PENDING_APPROVAL when a human must decide",
)
async def actions(ctx: CheckContext, result: CheckResult) -> None:
    if ctx.card is None or not ctx.card.capabilities.actions:
        skip(result, "the card does not declare the actions capability")
        return
    if not (ctx.options.action_input and ctx.options.actions):
        skip(result, "give --action-input and --action NAME so the agent requests an action")
        return
    errors: list[str] = []
    for verdict in _VERDICTS:
        label = agent_pb2.ActionVerdict.Name(verdict).removeprefix("ACTION_VERDICT_")
        invocation = await ctx.probe.invoke(
            [ctx.start(ctx.options.action_input, allowed_actions=ctx.options.actions)],
            decide=functools.partial(_decision, verdict),
            wait_before_deciding=DECISION_DELAY_SECONDS,
        )
        result.exchanges.append(invocation.exchange(f"Invoke, deciding {label}"))
        errors += [
            f"{label}: {p}" for p in _action_problems(invocation, verdict, ctx.options.actions)
        ]
    judge(result, errors)


def _decision(
    verdict: agent_pb2.ActionVerdict, request: agent_pb2.ActionRequest
) -> agent_pb2.ActionDecision:
    return agent_pb2.ActionDecision(
        action_id=request.action_id, verdict=verdict, reason="conformance check"
    )


def _action_problems(invocation: Invocation, verdict: int, allowed) -> list[str]:
    problems = contract.stream_problems(invocation.events)
    requests = [
        (index, event.action_request)
        for index, event in enumerate(invocation.events)
        if event.WhichOneof("kind") == "action_request"
    ]
    if not requests:
        return [*problems, "the agent requested no action for --action-input"]
    seen: set[str] = set()
    for index, request in requests:
        problems += contract.action_request_problems(request, allowed, seen)
        seen.add(request.action_id)
        decided_after = invocation.decided_after.get(request.action_id, len(invocation.events))
        early = [
            e
            for e in invocation.events[index + 1 : decided_after]
            if e.WhichOneof("kind") in contract.TERMINAL
        ]
        if early:
            problems.append(
                f"the agent ended the attempt before the decision on {request.action_id!r}"
            )
    kind = invocation.terminal_kind
    if verdict == agent_pb2.ACTION_VERDICT_ALLOWED and kind != "final":
        problems.append(f"after ALLOWED the agent ended with {kind}, expected a final output")
    if verdict == agent_pb2.ACTION_VERDICT_PENDING_APPROVAL:
        terminal = invocation.terminal
        if kind != "error" or terminal.error.kind != agent_pb2.AGENT_ERROR_KIND_PENDING_APPROVAL:
            problems.append(
                f"after PENDING_APPROVAL the agent ended with {kind}, expected AgentError PENDING_APPROVAL"
            )
    return problems
