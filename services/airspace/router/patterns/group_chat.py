"""Group chat: participants share a transcript; a manager picks who speaks next.

The next speaker is chosen round robin, by CEL rules over the transcript, or by a
selector agent. The chat ends after max_rounds turns, when `until` holds, or when the
decider says its answer is final; a decider, when named, owns the final answer.
"""

from __future__ import annotations

from typing import Any

from airspace.agent.v1 import agent_pb2
from airspace.mesh.reasons import Reason
from airspace.router.conditions import holds
from airspace.router.patterns.common import record_decision
from airspace.router.payload import ContextItem, Payload
from airspace.router.run_context import RunContext, RunFailure
from airspace.router.run_log import event
from airspace.router.step_key import StepKey
from airspace.router.step_runner import StepRunner
from airspace.v1 import run_pb2


async def run_group_chat(
    ctx: RunContext, runner: StepRunner, run_input: dict[str, Any]
) -> dict[str, Any]:
    chat = ctx.spec.chat
    opening = Payload.of_run_input(run_input)
    transcript = [ContextItem("user", opening, agent_pb2.ROLE_USER)]
    last = ContextItem("user", opening)  # the last word, the run's output
    ended_by, key = "", StepKey.turn(0)
    names = [p.agent for p in chat.participants]
    for turn in range(1, chat.max_rounds + 1):
        speaker, decided_by, reason, expression = await _next_speaker(
            ctx, runner, turn, transcript, run_input
        )
        key = StepKey.turn(turn).by(speaker)
        await record_decision(
            ctx,
            key,
            speaker,
            run_pb2.ROUTING_KIND_NEXT_SPEAKER,
            names,
            speaker,
            decided_by,
            reason,
            expression,
        )
        result = await runner.run(ctx, key, chat.participant(speaker), opening, transcript)
        last = ContextItem(speaker, result.payload)
        transcript.append(ContextItem(speaker, result.payload, agent_pb2.ROLE_AGENT))
        if not ctx.recorded(str(key)):
            ctx.log.record(
                event(
                    str(key),
                    speaker,
                    transcript_message=result.payload.message(agent_pb2.ROLE_AGENT, speaker),
                )
            )
        if speaker == chat.decider and result.payload.data.get("final") is True:
            ended_by = f"decider:{speaker}"
            await _end(ctx, key, speaker, ended_by, f"the decider {speaker} gave its final answer")
            break
        values = _values(transcript, turn, run_input)
        if chat.until is not None and holds(chat.until, values, "termination.until", str(key)):
            ended_by = "rule:termination.until"
            await _end(
                ctx,
                key,
                speaker,
                ended_by,
                f"condition {chat.until.source!r} holds",
                chat.until.source,
            )
            break
    else:
        await _end(ctx, key, "", "termination.max_rounds", f"{chat.max_rounds} turns taken")
    if chat.decider and not ended_by.startswith("decider:"):
        return await _decide(ctx, runner, transcript, opening)
    return last.to_dict()


async def _next_speaker(
    ctx: RunContext,
    runner: StepRunner,
    turn: int,
    transcript: list[ContextItem],
    run_input: dict[str, Any],
) -> tuple[str, str, str, str]:
    """Who speaks at `turn`, what decided it, why, and the rule's expression if any."""
    chat = ctx.spec.chat
    names = [p.agent for p in chat.participants]
    rotation = names[(turn - 1) % len(names)]
    if chat.manager == "rules":
        values = _values(transcript, turn - 1, run_input)
        for index, rule in enumerate(chat.rules):
            where = f"manager.rules[{index}]"
            if holds(rule.when, values, f"{where}.when", str(StepKey.turn(turn))):
                return (
                    rule.speaker,
                    f"rule:{where}",
                    f"{rule.when.source!r} holds",
                    rule.when.source,
                )
        return rotation, "round_robin", "no rule matched; next in rotation", ""
    if chat.manager == "selector":
        key = StepKey.turn(turn).selection()
        question = Payload("Who should speak next?", {"participants": names})
        selector = chat.selector
        assert selector is not None, "the spec names the selector of a selector manager"
        result = await runner.run(ctx, key, selector, question, transcript)
        chosen = result.payload.data.get("next_speaker")
        if chosen not in names:
            raise RunFailure(
                f"the selector {result.agent} chose {chosen!r}, not a participant",
                Reason.SELECTOR_INVALID,
                str(key),
                result.agent,
            )
        return (
            chosen,
            f"selector:{result.agent}",
            result.payload.text or "the selector's choice",
            "",
        )
    return rotation, "round_robin", f"turn {turn} of the rotation", ""


async def _decide(
    ctx: RunContext, runner: StepRunner, transcript: list[ContextItem], opening: Payload
) -> dict[str, Any]:
    """The decider owns the answer: it speaks last, with the whole transcript."""
    decider = ctx.spec.chat.decider
    key = StepKey.turn(len(transcript)).by(decider).decision()
    step = ctx.spec.chat.participant(decider)
    result = await runner.run(
        ctx, key, step, Payload("Give the final answer.", opening.data), transcript
    )
    await record_decision(
        ctx,
        key,
        decider,
        run_pb2.ROUTING_KIND_TERMINATE,
        [decider],
        decider,
        f"decider:{decider}",
        "the decider owns the final answer",
    )
    return {"author": decider, **result.payload.to_dict()}


def _values(transcript: list[ContextItem], turn: int, run_input: dict[str, Any]) -> dict[str, Any]:
    spoken = [
        {"author": item.author, "text": item.payload.text, "data": item.payload.data}
        for item in transcript
    ]
    return {"transcript": spoken, "last": spoken[-1], "round": turn, "input": run_input}


async def _end(
    ctx: RunContext,
    key: StepKey,
    agent: str,
    decided_by: str,
    reason: str,
    expression: str = "",
) -> None:
    await record_decision(
        ctx, key, agent, run_pb2.ROUTING_KIND_TERMINATE, [], "", decided_by, reason, expression
    )
