"""One attempt of a step: an Invoke stream to the agent within the step's deadline, in a
tracing span, with the agent's progress passed on to watchers.

The attempt's StepStarted is recorded, not appended on its own: it goes with the step's
next write (its StepCompleted and journal entry, or its failure), and reaches watchers
within LIVE_EVENT_DELAY when the agent takes longer (the run log's flush timer). Making
it durable before the agent is called would buy nothing: what keeps a completed step
from running again is its journal entry, written with its StepCompleted, and what keeps
the step in flight at a crash from running twice at the agent is its idempotency key,
`run_id/step_key`, which the resumed run derives again from the run and its journal
alone. No replay reads StepStarted events (attempts count from 1 in every execution),
so a crash before the step completes has the step invoked again with the same key
whether its StepStarted was durable or not. What is lost is the log's record of an
invocation that a crash cut short within the delay; the takeover that follows is still
recorded (LeaseTakenOver), and the agent is called again under the same key.

Before the agent is called, the completions of the run's earlier steps that still wait in
the run log are written (with this StepStarted): a step's completion may wait for the
run's next write, never past its next agent invocation (run_log.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry import trace

from airspace.agent.v1 import agent_pb2
from airspace.mesh import telemetry
from airspace.mesh.reasons import Reason
from airspace.router import metrics
from airspace.router.agent_invoker import AgentInvoker
from airspace.router.attempt import Attempt, OnEvent
from airspace.router.run_context import RunFailure
from airspace.router.run_log import event
from airspace.router.step.actions import StepActions
from airspace.router.step.call import StepCall
from airspace.v1 import agent_registry_pb2, run_pb2

_tracer = telemetry.tracer("airspace.router")
# How long an agent's progress may wait in the run log's buffer before watchers see it.
LIVE_EVENT_DELAY = 0.25


class Invocation:
    def __init__(self, invoker: AgentInvoker, default_timeout: float) -> None:
        self._invoker = invoker
        self._default_timeout = default_timeout

    async def attempt(
        self,
        call: StepCall,
        registration: agent_registry_pb2.Agent,
        start: agent_pb2.InvokeStart,
        actions: StepActions,
    ) -> Attempt:
        ctx = call.ctx
        timeout = min(call.step.timeout or self._default_timeout, ctx.time_left())
        if timeout <= 0:
            raise RunFailure("the run ran out of time", Reason.RUN_TIMEOUT, str(call.key), "")
        started = run_pb2.StepStarted(
            step_name=call.step.name,
            branch=call.step.branch,
            attempt=start.attempt,
            idempotency_key=start.idempotency_key,
            agent_version=registration.card.version,
        )
        ctx.log.record(event(str(call.key), call.agent, step_started=started))
        # No agent acts on a step's output while that step could still be invoked again.
        await ctx.log.write_completed()
        await ctx.log.flush(older_than=LIVE_EVENT_DELAY)
        with _span(call, registration, start.attempt) as span:
            attempt = await self._invoker.invoke(
                registration.endpoint,
                start,
                timeout,
                _forwarder(call),
                actions.decide,
                protocol=registration.protocol,
            )
            metrics.record_step_attempt(call.agent, attempt.duration, not attempt.failure)
            span.set_attribute("gen_ai.usage.input_tokens", attempt.usage.input_tokens)
            span.set_attribute("gen_ai.usage.output_tokens", attempt.usage.output_tokens)
            if attempt.failure:
                span.set_status(trace.StatusCode.ERROR, attempt.failure_code)
        return attempt


@contextmanager
def _span(
    call: StepCall, registration: agent_registry_pb2.Agent, attempt: int
) -> Iterator[trace.Span]:
    """The attempt's client span, named and attributed as OpenTelemetry's GenAI conventions say."""
    with _tracer.start_as_current_span(
        f"invoke_agent {call.agent}",
        kind=trace.SpanKind.CLIENT,
        attributes={
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.name": call.agent,
            "gen_ai.agent.version": registration.card.version,
            "gen_ai.conversation.id": call.ctx.run_id,
            "airspace.run.id": call.ctx.run_id,
            "airspace.step.key": str(call.key),
            "airspace.attempt": attempt,
        },
    ) as span:
        yield span


def _forwarder(call: StepCall) -> OnEvent:
    """Passes the agent's progress, partial output and usage on to the run's watchers."""
    key, agent, log = str(call.key), call.agent, call.ctx.log

    async def forward(agent_event: agent_pb2.InvokeEvent) -> None:
        kind = agent_event.WhichOneof("kind")
        if kind == "progress":
            progress = run_pb2.AgentProgress(progress=agent_event.progress)
            recorded = event(key, agent, agent_progress=progress)
        elif kind == "partial":
            recorded = event(key, agent, partial_output=agent_event.partial)
        else:
            recorded = event(key, agent, usage_reported=agent_event.usage)
        log.record(recorded)
        await log.flush(older_than=LIVE_EVENT_DELAY)

    return forward
