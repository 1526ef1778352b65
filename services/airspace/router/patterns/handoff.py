"""Handoff: agents pass the task along the workflow's handoff graph.

An agent asks to hand off; the router accepts only edges the graph allows (never the
agent's word alone), gives the target only the context the edge allows, bounds hops
and refuses loops. A low-confidence answer goes to the escalation target, and CEL
routes may send a finished answer on to another agent.
"""

from __future__ import annotations

from airspace.agent.v1 import agent_pb2
from airspace.router import metrics
from airspace.router.conditions import holds
from airspace.router.patterns.common import record_decision, run_input_payload
from airspace.router.run_context import RunContext, RunFailure
from airspace.router.run_log import event
from airspace.router.spec.model import ContextPolicy
from airspace.router.step_runner import StepResult, StepRunner
from airspace.v1 import run_pb2

ESCALATION_CONTEXT = ContextPolicy()


def visible_context(policy: ContextPolicy, transcript: list[dict]) -> list[dict]:
    """The part of the transcript an edge lets its target see."""
    items = [
        m
        for m in transcript
        if not (policy.strip_tool_calls and m.get("role") == agent_pb2.ROLE_TOOL)
    ]
    if policy.mode == "last_n":
        return items[-policy.last_n :]
    if policy.mode == "fields":
        return [
            {
                **m,
                "text": "",
                "data": {f: m.get("data", {})[f] for f in policy.fields if f in m.get("data", {})},
            }
            for m in items
        ]
    return items


async def run_handoff(ctx: RunContext, runner: StepRunner, run_input: dict) -> dict:
    graph = ctx.spec.handoff
    max_hops = graph.max_hops
    if ctx.spec.budget.max_hops:
        max_hops = min(max_hops, ctx.spec.budget.max_hops)
    current, step_input = graph.entry, run_input_payload(run_input)
    transcript = [{"author": "user", "role": agent_pb2.ROLE_USER, **step_input}]
    context: list[dict] = []
    visits = {graph.entry: 1}
    path = [graph.entry]
    hop = 0
    while True:
        key = f"h{hop + 1:04d}-{current}"
        result = await runner.run(
            ctx,
            key,
            graph.agent(current),
            step_input,
            context,
            handoff_targets=graph.targets(current),
        )
        transcript.append({"author": current, "role": agent_pb2.ROLE_AGENT, **result.payload})
        target, policy = await _next_agent(ctx, key, current, result, run_input)
        if target is None:
            return {"agent": current, "path": path, **result.payload}
        if hop >= max_hops:
            raise RunFailure(
                f"the run reached its limit of {max_hops} handoff hops (path {' → '.join(path)})",
                "HOP_LIMIT",
                key,
                current,
            )
        if visits.get(target, 0) >= graph.max_visits:
            raise RunFailure(
                f"handoff loop: {target} already handled this task (path {' → '.join([*path, target])})",
                "HANDOFF_LOOP",
                key,
                current,
            )
        visits[target] = visits.get(target, 0) + 1
        path.append(target)
        ctx.usage.hops = hop + 1
        context = visible_context(policy, transcript)
        step_input = {
            "text": result.payload.get("text", ""),
            "data": result.payload.get("data", {}),
        }
        current = target
    raise AssertionError("the loop returns or raises within max_hops + 1 hops")


async def _next_agent(ctx: RunContext, key: str, current: str, result: StepResult, run_input: dict):
    """Where the task goes after `current`: (target, context policy), or (None, None) when done."""
    graph = ctx.spec.handoff
    if result.handoff_target:
        return await _judge_handoff(ctx, key, current, result)
    confidence = result.confidence
    if (
        graph.escalate_below is not None
        and confidence is not None
        and confidence < graph.escalate_below
        and current != graph.escalation_target
    ):
        await record_decision(
            ctx,
            key,
            current,
            run_pb2.ROUTING_KIND_ESCALATION,
            [graph.escalation_target],
            graph.escalation_target,
            "escalation.confidence_below",
            f"confidence {confidence:.2f} is below {graph.escalate_below:.2f}",
        )
        return graph.escalation_target, ESCALATION_CONTEXT
    values = {"output": result.payload, "input": run_input, "agent": current}
    for index, route in enumerate(graph.routes):
        if route.source == current and holds(route.when, values, f"routes[{index}].when", key):
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


async def _judge_handoff(ctx: RunContext, key: str, current: str, result: StepResult):
    graph = ctx.spec.handoff
    target = result.handoff_target
    edge = graph.edge(current, target)
    if edge is not None:
        verdict = f"the graph allows {current} → {target}"
    else:
        allowed = ", ".join(graph.targets(current)) or "none"
        verdict = f"no edge {current} → {target} in the handoff graph (allowed: {allowed})"
    if key not in ctx.journal:
        ctx.log.record(
            event(
                key,
                current,
                handoff=run_pb2.Handoff(
                    from_agent=current,
                    to_agent=target,
                    reason=result.handoff_reason,
                    accepted=edge is not None,
                    decision_reason=verdict,
                    hop=ctx.usage.hops + (1 if edge else 0),
                ),
            )
        )
        metrics.record_handoff(current, accepted=edge is not None)
    if edge is not None:
        return target, edge.context
    if graph.escalation_target and current != graph.escalation_target:
        await record_decision(
            ctx,
            key,
            current,
            run_pb2.ROUTING_KIND_ESCALATION,
            [graph.escalation_target],
            graph.escalation_target,
            "escalation.target",
            f"refused handoff: {verdict}",
        )
        return graph.escalation_target, ESCALATION_CONTEXT
    raise RunFailure(
        f"{current} asked to hand off outside the graph: {verdict}", "HANDOFF_REFUSED", key, current
    )
