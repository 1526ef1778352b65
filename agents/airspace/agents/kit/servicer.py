"""AgentService over gRPC: runs the handler for each Invoke and streams its events.

Protocol errors become statuses (raised as mesh errors, mapped by the mesh interceptor);
everything the handler does becomes events, ending with exactly one terminal event. A call
whose idempotency key has a kept result gets that result alone, and one whose key is
running waits for that execution (executions.py): the handler runs once per key.
"""

from __future__ import annotations

from collections.abc import Awaitable

from opentelemetry import trace

from airspace.agent.v1 import agent_pb2, agent_pb2_grpc
from airspace.agents.kit.decisions import DecisionReader
from airspace.agents.kit.executions import Executions
from airspace.agents.kit.results import ResultStore
from airspace.agents.kit.running import HandlerRunner
from airspace.agents.kit.task import EventWriter, Task
from airspace.mesh import errors, logs, telemetry

_REQUIRED_START_FIELDS = ("idempotency_key", "run_id", "step_key")


class AgentServicer(agent_pb2_grpc.AgentServiceServicer):
    def __init__(
        self,
        card: agent_pb2.AgentCard,
        runner: HandlerRunner,
        results: ResultStore,
        executions: Executions,
    ):
        self._card = card
        self._runner = runner
        self._results = results
        self._executions = executions
        self._tracer = telemetry.tracer("airspace.agent")

    async def GetAgentCard(self, request, context):
        return agent_pb2.GetAgentCardResponse(card=self._card)

    async def Invoke(self, request_iterator, context):
        requests = aiter(request_iterator)
        start = _validated_start(await anext(requests, None))
        key = start.idempotency_key
        logs.bind_run(start.run_id)  # the call's own task: its lines name the run and step
        with (
            logs.step(start.step_key),
            # Under the caller's trace context, which the mesh interceptor attached.
            self._tracer.start_as_current_span(
                f"invoke_agent {self._card.name}",
                kind=trace.SpanKind.SERVER,
                attributes=self._span_attributes(start),
                record_exception=False,  # exception messages may quote the input
                set_status_on_exception=False,
            ) as span,
        ):
            try:
                stored = self._results.get(key)
                span.set_attribute("airspace.agent.replayed", stored is not None)
                if stored is not None:
                    await context.write(_alone(stored))
                    return
                running = self._executions.running(key)
                if running is not None:  # a duplicate of a call in flight: share its outcome
                    terminal = await _within_deadline(running.outcome(context.time_remaining()))
                    _record_outcome(span, terminal)
                    await context.write(_alone(terminal))
                    return
                await self._execute(start, requests, context, span)
            except BaseException as exc:
                span.set_status(trace.StatusCode.ERROR, type(exc).__name__)
                raise

    async def _execute(self, start: agent_pb2.InvokeStart, requests, context, span) -> None:
        """Runs the handler while reading ActionDecisions, within the call's deadline.

        Leaving early (deadline, protocol error, or the router cancelling the call, which
        cancels this coroutine) stops the handler unless another call waits for it."""
        events = EventWriter(context.write)
        decisions = DecisionReader(requests)
        task = Task(start, events, span, decisions)
        execution = self._executions.start(
            start.idempotency_key, self._runner.run(task), self._runner.stoppable
        )
        try:
            terminal = await _within_deadline(
                execution.outcome(context.time_remaining(), decisions.failure)
            )
            _record_outcome(span, terminal)
            await events.send(terminal, terminal=True)
        finally:
            decisions.stop()
            events.detach()  # a handler still running for another call streams no more here

    def _span_attributes(self, start: agent_pb2.InvokeStart) -> dict:
        return {
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.name": self._card.name,
            "gen_ai.agent.version": self._card.version,
            "airspace.run.id": start.run_id,
            "airspace.step.key": start.step_key,
            "airspace.attempt": start.attempt,
        }


async def _within_deadline(outcome: Awaitable[agent_pb2.InvokeEvent]) -> agent_pb2.InvokeEvent:
    try:
        return await outcome
    except TimeoutError as exc:
        raise errors.DeadlineExceeded(
            "the step's deadline passed before the agent finished"
        ) from exc


def _alone(terminal: agent_pb2.InvokeEvent) -> agent_pb2.InvokeEvent:
    """A stored or shared terminal event as the only event of a call."""
    event = agent_pb2.InvokeEvent()
    event.CopyFrom(terminal)
    event.sequence = 1
    return event


def _validated_start(first: agent_pb2.InvokeRequest | None) -> agent_pb2.InvokeStart:
    if first is None or first.WhichOneof("kind") != "start":
        raise errors.InvalidArgument("the first message of Invoke must be start", field="start")
    missing = [f"start.{name}" for name in _REQUIRED_START_FIELDS if not getattr(first.start, name)]
    if missing:
        raise errors.InvalidArgument(
            f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} required",
            violations=[(field, "required") for field in missing],
        )
    return first.start


def _record_outcome(span: trace.Span, terminal: agent_pb2.InvokeEvent) -> None:
    kind = terminal.WhichOneof("kind")
    span.set_attribute("airspace.agent.outcome", kind)
    if kind == "final" and terminal.final.HasField("confidence"):
        span.set_attribute("airspace.agent.confidence", terminal.final.confidence)
    elif kind == "handoff":
        span.set_attribute("airspace.handoff.target", terminal.handoff.target)
    elif kind == "error":
        error_kind = agent_pb2.AgentErrorKind.Name(terminal.error.kind)
        span.set_attribute("error.type", error_kind)
        span.set_status(trace.StatusCode.ERROR, error_kind)
