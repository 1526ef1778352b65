"""The journal of a run's steps: a step journaled before is read back and never invoked
again; a step the agent completes is journaled with what it spent.

When: with its StepCompleted event, once the agent's terminal event has passed the output's
validation and policy, in the run's next write: the one before its next agent invocation,
its end, its pause, or the flush timer within LIVE_EVENT_DELAY, whichever comes first
(run_log.py). Until then the step is not completed: a crash has it invoked again under the
same idempotency key, as a crash during the step would. Policy must pass before a result
is released, and the journal is what replays release. Journaling the raw answer first, as
"the agent finished", would close the window between the terminal event and this write
further, but at the price of one more fsync'd write per step and the agent's unmasked
output at rest. Agents close that window instead: a step invoked again after its router
died carries the same idempotency key, and agents answer it from the results they keep by
key (docs/agents.md; the Python kit keeps them in an SQLite file), so the handler never
runs twice."""

from __future__ import annotations

from google.protobuf import struct_pb2

from airspace.agent.v1 import agent_pb2
from airspace.router import convert
from airspace.router.payload import Payload
from airspace.router.run_context import RunContext
from airspace.router.run_log import event
from airspace.router.step.call import AgentOutput, AgentStage, StepCall, StepResult, StepStage
from airspace.router.step.invocation import LIVE_EVENT_DELAY
from airspace.state.v1 import state_pb2
from airspace.v1 import run_pb2


class ReplayStage:
    """Answers a step completed before (a replay after a pause or a restart) from the journal."""

    def __init__(self, next: StepStage) -> None:
        self.next = next

    async def run(self, call: StepCall) -> StepResult:
        done = call.ctx.journal.get(str(call.key))
        if done is None:
            return await self.next.run(call)
        _meter_journaled(call.ctx, done)
        return _journaled_result(done)


class JournalStage:
    """Journals the agent's output with the StepCompleted event, and meters it."""

    def __init__(self, next: AgentStage) -> None:
        self.next = next

    async def run(self, call: StepCall) -> StepResult:
        output = await self.next.run(call)
        spent = output.usage.input_tokens + output.usage.output_tokens
        usage = call.ctx.usage
        usage.steps += 1
        usage.tokens += spent
        usage.cost_micros += output.usage.cost_micros
        call.ctx.log.complete_later(
            event(str(call.key), call.agent, step_completed=_completed(call, output)),
            journal=[_entry(call, output, spent)],
            within=LIVE_EVENT_DELAY,
        )
        handoff = output.handoff or agent_pb2.HandoffRequest()
        return StepResult(output.payload, call.agent, handoff.target, handoff.reason, output.review)


def _completed(call: StepCall, output: AgentOutput) -> run_pb2.StepCompleted:
    return run_pb2.StepCompleted(
        step_name=call.step.name,
        branch=call.step.branch,
        attempt=output.attempt,
        output=output.final,
        duration=convert.to_duration(output.duration),
    )


def _entry(call: StepCall, output: AgentOutput, spent: int) -> state_pb2.JournalEntry:
    checkpoint = struct_pb2.Struct()
    if output.handoff is not None:
        checkpoint.update(
            {"handoff": {"target": output.handoff.target, "reason": output.handoff.reason}}
        )
    if output.review is not None:
        checkpoint.update({"review": output.review})
    # Kept with the step, so a replay (after a pause or a restart) meters it again.
    checkpoint.update({"usage": {"tokens": spent, "cost_micros": output.usage.cost_micros}})
    return state_pb2.JournalEntry(
        step_key=str(call.key),
        step_name=call.step.name,
        agent=call.agent,
        attempt=output.attempt,
        output=output.final,
        checkpoint=checkpoint,
    )


def _meter_journaled(ctx: RunContext, entry: state_pb2.JournalEntry) -> None:
    """Adds what a step completed before a replay spent (its steps are counted already)."""
    usage = convert.to_dict(entry.checkpoint).get("usage", {})
    ctx.usage.tokens += int(usage.get("tokens", 0))
    ctx.usage.cost_micros += int(usage.get("cost_micros", 0))


def _journaled_result(entry: state_pb2.JournalEntry) -> StepResult:
    checkpoint = convert.to_dict(entry.checkpoint)
    handoff = checkpoint.get("handoff", {})
    return StepResult(
        Payload.of_output(entry.output),
        entry.agent,
        handoff.get("target", ""),
        handoff.get("reason", ""),
        checkpoint.get("review"),
    )
