"""Sequential pattern: steps in order, each fed by an earlier output, with optional
conditions (`when`) and conditional routing (`next`) in CEL."""

from __future__ import annotations

from typing import Any

from airspace.mesh.reasons import Reason
from airspace.router.conditions import holds
from airspace.router.patterns.common import record_decision
from airspace.router.payload import ContextItem, Payload
from airspace.router.run_context import RunContext, RunFailure
from airspace.router.spec import END, Step
from airspace.router.spec.model import InputMapping
from airspace.router.step_key import StepKey
from airspace.router.step_runner import StepRunner
from airspace.v1 import run_pb2

# Without a budget, a workflow whose `next` loops back runs at most this many steps.
DEFAULT_MAX_STEPS = 100


def step_input(
    mapping: InputMapping,
    run_input: dict[str, Any],
    outputs: dict[str, Payload],
    previous: Payload,
) -> Payload:
    """The input a step receives, as its `input` mapping says."""
    if mapping.source == "run":
        source = Payload.of_run_input(run_input)
    elif mapping.source == "previous":
        source = previous
    else:
        source = outputs[mapping.source]
    return source.as_input(mapping.fields)


def step_context(mapping: InputMapping, context: list[ContextItem]) -> list[ContextItem]:
    """The earlier outputs a step sees: bounded by its mapping's `fields` like its input,
    so what the mapping leaves out does not reach the agent another way."""
    if not mapping.fields:
        return context
    return [item.only(mapping.fields) for item in context]


async def run_sequential(
    ctx: RunContext, runner: StepRunner, run_input: dict[str, Any]
) -> dict[str, Any]:
    """Returns the run's output: the last completed step's output."""
    steps = {step.name: step for step in ctx.spec.steps}
    order = [step.name for step in ctx.spec.steps]
    limit = ctx.spec.budget.max_steps or DEFAULT_MAX_STEPS
    previous = Payload.of_run_input(run_input)
    outputs: dict[str, Payload] = {}
    context: list[ContextItem] = []
    output: dict[str, Any] = {}
    current, executed = order[0], 0
    while current != END:
        if executed >= limit:
            raise RunFailure(f"the run reached its limit of {limit} steps", Reason.BUDGET_EXCEEDED)
        executed += 1
        step = steps[current]
        key = StepKey.step(executed, step.name)
        if step.when is not None and not holds(
            step.when, _values(run_input, outputs), f"steps.{step.name}.when", str(key)
        ):
            current = _following(order, current)
            await _record(
                ctx,
                key,
                step.agent,
                current,
                f"skipped {step.name!r}: condition {step.when.source!r} is false",
            )
            continue
        await _record(ctx, key, step.agent, current, _why(order, current, executed))
        try:
            result = await runner.run(
                ctx,
                key,
                step,
                step_input(step.input, run_input, outputs, previous),
                step_context(step.input, context),
            )
        except RunFailure as failure:
            if step.on_failure != "continue":
                raise
            current = _following(order, current)
            await record_decision(
                ctx,
                key,
                step.agent,
                run_pb2.ROUTING_KIND_NEXT_STEP,
                [current],
                current,
                f"step:{step.name}.on_failure",
                f"step failed ({failure.code}) and is marked on_failure: continue",
            )
            continue
        previous = outputs[step.name] = result.payload
        context.append(ContextItem(result.agent, result.payload))
        output = {"step": step.name, "agent": result.agent, **result.payload.to_dict()}
        values = {**_values(run_input, outputs), "output": result.payload.to_dict()}
        current = await _route(ctx, key, step, order, values)
    return output


async def _route(
    ctx: RunContext, key: StepKey, step: Step, order: list[str], values: dict[str, Any]
) -> str:
    """The step after `step`: the first `next` route whose condition holds, else the next in order."""
    default = _following(order, step.name)
    for index, route in enumerate(step.next):
        where = f"steps.{step.name}.next[{index}]"
        if route.when is not None and not holds(route.when, values, f"{where}.when", str(key)):
            continue
        await record_decision(
            ctx,
            key,
            step.agent,
            run_pb2.ROUTING_KIND_TERMINATE if route.goto == END else run_pb2.ROUTING_KIND_NEXT_STEP,
            [*(r.goto for r in step.next), default],
            route.goto,
            f"rule:{where}",
            f"condition {route.when.source!r} holds" if route.when else "unconditional route",
            route.when.source if route.when else "",
        )
        return route.goto
    return default


def _values(run_input: dict[str, Any], outputs: dict[str, Payload]) -> dict[str, Any]:
    """What conditions read: the run's input and the outputs of the steps run so far."""
    steps = {name: payload.to_dict() for name, payload in outputs.items()}
    return {"input": run_input, "steps": steps}


def _following(order: list[str], name: str) -> str:
    index = order.index(name) + 1
    return order[index] if index < len(order) else END


def _why(order: list[str], name: str, executed: int) -> str:
    position = order.index(name)
    if executed == 1:
        return "first step of the workflow"
    return f"step {position + 1} of {len(order)} (execution {executed})"


async def _record(ctx: RunContext, key: StepKey, agent: str, chosen: str, reason: str) -> None:
    kind = run_pb2.ROUTING_KIND_TERMINATE if chosen == END else run_pb2.ROUTING_KIND_NEXT_STEP
    await record_decision(ctx, key, agent, kind, [chosen], chosen, "pattern:sequential", reason)
