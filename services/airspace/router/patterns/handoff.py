"""Handoff: agents pass the task along the workflow's handoff graph.

An agent asks to hand off; the router accepts only edges the graph allows (never the
agent's word alone), gives the target only the context the edge allows, bounds hops
and refuses loops. A low-confidence answer goes to the escalation target, and CEL
routes may send a finished answer on to another agent.
"""

from __future__ import annotations

from typing import Any

from airspace.agent.v1 import agent_pb2
from airspace.mesh.reasons import Reason
from airspace.router import metrics
from airspace.router.conditions import holds
from airspace.router.patterns.common import record_decision
from airspace.router.payload import ContextItem, Payload
from airspace.router.run_context import RunContext, RunFailure
from airspace.router.run_log import event
from airspace.router.spec.model import ContextPolicy, Handoff
from airspace.router.step.call import StepResult
from airspace.router.step_key import StepKey
from airspace.router.step_runner import StepRunner
from airspace.v1 import run_pb2

ESCALATION_CONTEXT = ContextPolicy()


def visible_context(policy: ContextPolicy, transcript: list[ContextItem]) -> list[ContextItem]:
    """The part of the transcript an edge lets its target see."""
    items = [
        item
        for item in transcript
        if not (policy.strip_tool_calls and item.role == agent_pb2.ROLE_TOOL)
    ]
    if policy.mode == "last_n":
        return items[-policy.last_n :]
    if policy.mode == "fields":
        return [item.only(policy.fields) for item in items]
    return items


def handed_over(policy: ContextPolicy, output: Payload) -> Payload:
    """The input the target receives: the handing agent's output, bounded by the edge's
    `fields` like the context is."""
    return output.as_input(policy.fields if policy.mode == "fields" else ())


async def run_handoff(
    ctx: RunContext, runner: StepRunner, run_input: dict[str, Any]
) -> dict[str, Any]:
    graph = _graph(ctx)
    current, step_input = graph.entry, Payload.of_run_input(run_input)
    transcript = [ContextItem("user", step_input, agent_pb2.ROLE_USER)]
    context: list[ContextItem] = []
    path = [graph.entry]  # every agent that took the task, so hops taken = len(path) - 1
    while True:
        key = StepKey.hop(len(path), current)
        result = await runner.run(
            ctx,
            key,
            graph.agent(current),
            step_input,
            context,
            handoff_targets=graph.targets(current),
        )
        transcript.append(ContextItem(current, result.payload, agent_pb2.ROLE_AGENT))
        target, policy = await _next_agent(ctx, key, current, result, run_input)
        if target is None or policy is None:
            return {"agent": current, "path": path, **result.payload.to_dict()}
        _check_bounds(ctx, key, path, target)
        path.append(target)
        ctx.usage.hops = len(path) - 1  # counted again on every replay, never stored apart
        context = visible_context(policy, transcript)
        step_input = handed_over(policy, result.payload)
        current = target


def _graph(ctx: RunContext) -> Handoff:
    graph = ctx.spec.handoff
    assert graph is not None, "a handoff workflow always has its graph"
    return graph


def _check_bounds(ctx: RunContext, key: StepKey, path: list[str], target: str) -> None:
    """Refuses a hop past the run's hop limit, or one more visit than the graph allows."""
    current, limit = path[-1], ctx.spec.hop_limit
    if limit is not None and len(path) - 1 >= limit:
        raise RunFailure(
            f"the run reached its limit of {limit} handoff hops (path {' → '.join(path)})",
            Reason.HOP_LIMIT,
            str(key),
            current,
        )
    if path.count(target) >= _graph(ctx).max_visits:
        raise RunFailure(
            f"handoff loop: {target} already handled this task (path {' → '.join([*path, target])})",
            Reason.HANDOFF_LOOP,
            str(key),
            current,
        )


Next = tuple[str, ContextPolicy] | tuple[None, None]


async def _next_agent(
    ctx: RunContext, key: StepKey, current: str, result: StepResult, run_input: dict[str, Any]
) -> Next:
    """Where the task goes after `current`: (target, context policy), or (None, None) when done."""
    if result.handoff_target:
        return await _judge_handoff(ctx, key, current, result)
    escalated = await _escalation(ctx, key, current, result)
    if escalated[0] is not None:
        return escalated
    routed = await _route(
        ctx, key, current, {"output": result.payload.to_dict(), "input": run_input}
    )
    if routed[0] is not None:
        return routed
    await record_decision(
        ctx,
        key,
        current,
        run_pb2.ROUTING_KIND_TERMINATE,
        [],
        "",
        f"agent:{current}",
        f"{current} gave the final answer",
    )
    return None, None


async def _escalation(ctx: RunContext, key: StepKey, current: str, result: StepResult) -> Next:
    """The escalation target, when `current` answered less confidently than the graph wants."""
    graph, confidence = _graph(ctx), result.confidence
    if (
        graph.escalate_below is None
        or confidence is None
        or confidence >= graph.escalate_below
        or current == graph.escalation_target
    ):
        return None, None
    reason = f"confidence {confidence:.2f} is below {graph.escalate_below:.2f}"
    return await _escalate(ctx, key, current, "escalation.confidence_below", reason)


async def _escalate(
    ctx: RunContext, key: StepKey, current: str, decided_by: str, reason: str
) -> Next:
    target = _graph(ctx).escalation_target
    await record_decision(
        ctx, key, current, run_pb2.ROUTING_KIND_ESCALATION, [target], target, decided_by, reason
    )
    return target, ESCALATION_CONTEXT


async def _route(ctx: RunContext, key: StepKey, current: str, values: dict[str, Any]) -> Next:
    """The target of the first CEL route from `current` whose condition holds."""
    graph = _graph(ctx)
    values = {**values, "agent": current}
    for index, route in enumerate(graph.routes):
        if route.source != current or not holds(
            route.when, values, f"routes[{index}].when", str(key)
        ):
            continue
        await record_decision(
            ctx,
            key,
            current,
            run_pb2.ROUTING_KIND_NEXT_STEP,
            [r.target for r in graph.routes if r.source == current],
            route.target,
            f"rule:routes[{index}]",
            f"condition {route.when.source!r} holds",
            route.when.source,
        )
        edge = graph.edge(current, route.target)
        return route.target, edge.context if edge else ESCALATION_CONTEXT
    return None, None


async def _judge_handoff(ctx: RunContext, key: StepKey, current: str, result: StepResult) -> Next:
    graph, target = _graph(ctx), result.handoff_target
    edge = graph.edge(current, target)
    if edge is not None:
        verdict = f"the graph allows {current} → {target}"
    else:
        allowed = ", ".join(graph.targets(current)) or "none"
        verdict = f"no edge {current} → {target} in the handoff graph (allowed: {allowed})"
    if not ctx.recorded(str(key)):
        _record_handoff(ctx, key, current, result, verdict, accepted=edge is not None)
    if edge is not None:
        return target, edge.context
    if graph.escalation_target and current != graph.escalation_target:
        return await _escalate(
            ctx, key, current, "escalation.target", f"refused handoff: {verdict}"
        )
    raise RunFailure(
        f"{current} asked to hand off outside the graph: {verdict}",
        Reason.HANDOFF_REFUSED,
        str(key),
        current,
    )


def _record_handoff(
    ctx: RunContext, key: StepKey, current: str, result: StepResult, verdict: str, *, accepted: bool
) -> None:
    handoff = run_pb2.Handoff(
        from_agent=current,
        to_agent=result.handoff_target,
        reason=result.handoff_reason,
        accepted=accepted,
        decision_reason=verdict,
        hop=ctx.usage.hops + (1 if accepted else 0),  # the hop this handoff would be
    )
    ctx.log.record(event(str(key), current, handoff=handoff))
    metrics.record_handoff(current, accepted=accepted)
