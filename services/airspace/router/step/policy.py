"""Policy's word on what passes between a step and its agent."""

from __future__ import annotations

from typing import Any

from airspace.agent.v1 import agent_pb2
from airspace.policy.engine.model import Resource
from airspace.router import metrics
from airspace.router.guard import Guard, Judgement, agent_subject
from airspace.router.run_context import RunContext, RunFailure
from airspace.router.run_log import event
from airspace.router.step.call import StepCall
from airspace.router.step_key import StepKey


async def judge_for_agent(
    guard: Guard, call: StepCall, checkpoint: str, payload: dict[str, Any]
) -> Judgement:
    """Policy's judgement at `checkpoint` of a payload going to or coming from the acting
    agent, masked for the data classes the agent is cleared for; its audit record rides
    with the run's next append (the step's end, its failure, or the run's)."""
    ctx = call.ctx
    resource = Resource(
        kind="agent",
        name=call.agent,
        tenant=ctx.tenant,
        attributes={"workflow": ctx.spec.name, "step": call.step.name},
    )
    return await guard.judge(
        checkpoint,
        agent_subject(call.agent, ctx.tenant),
        resource,
        payload,
        run_id=ctx.run_id,
        step_key=str(call.key),
        clearances=agent_clearances(call),
        carrier=ctx.log,
    )


def agent_clearances(call: StepCall) -> list[str]:
    """The data classes the acting agent's card says it may see in clear."""
    registration = call.ctx.agent(call.agent, str(call.key))
    return [agent_pb2.DataClass.Name(c) for c in registration.card.clearances]


def enforce(ctx: RunContext, key: StepKey, agent: str, judgement: Judgement) -> None:
    """Records a guardrail verdict and stops the step unless it allows going on."""
    ctx.log.record(event(str(key), agent, guardrail_verdict=judgement.verdict))
    metrics.record_guardrail_verdict(judgement.verdict)
    if judgement.allowed or judgement.needs_approval:  # a person decides: see reviews.py
        return
    raise RunFailure(
        f"policy refused the step: {judgement.explain()}", judgement.refusal, str(key), ""
    )
