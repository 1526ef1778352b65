"""AgentService over gRPC: runs the handler for each Invoke and streams its events.

Protocol errors become statuses (raised as mesh errors, mapped by the mesh interceptor);
everything the handler does becomes events, ending with exactly one terminal event.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import traceback
from collections.abc import Callable

from opentelemetry import trace

from airspace.agent.v1 import agent_pb2, agent_pb2_grpc
from airspace.agents.kit.cache import IdempotencyCache
from airspace.agents.kit.convert import final_event, handoff_event
from airspace.agents.kit.outcomes import AgentFailure, Handoff, Reply
from airspace.agents.kit.task import EventWriter, Task
from airspace.mesh import errors, telemetry

log = logging.getLogger("airspace.agent")
_REQUIRED_START_FIELDS = ("idempotency_key", "run_id", "step_key")


class AgentServicer(agent_pb2_grpc.AgentServiceServicer):
    def __init__(self, card: agent_pb2.AgentCard, handler: Callable, cache: IdempotencyCache):
        self._card = card
        self._handler = handler
        self._cache = cache
        self._tracer = telemetry.tracer("airspace.agent")

    async def GetAgentCard(self, request, context):
        return agent_pb2.GetAgentCardResponse(card=self._card)

    async def Invoke(self, request_iterator, context):
        requests = aiter(request_iterator)
        start = _validated_start(await anext(requests, None))
        with self._tracer.start_as_current_span(
            f"invoke_agent {self._card.name}",
            context=telemetry.extract(context.invocation_metadata()),
            kind=trace.SpanKind.SERVER,
            attributes=self._span_attributes(start),
            record_exception=False,  # exception messages may quote the input
            set_status_on_exception=False,
        ) as span:
            try:
                cached = self._cache.result(start.idempotency_key)
                span.set_attribute("airspace.agent.replayed", cached is not None)
                if cached is not None:
                    replay = agent_pb2.InvokeEvent()
                    replay.CopyFrom(cached)
                    replay.sequence = 1
                    await context.write(replay)
                    return
                events = EventWriter(context.write)
                task = Task(start, events, span)
                terminal = await self._outcome(task, requests, context.time_remaining())
                _record_outcome(span, terminal)
                # Cached before sending: if the router never receives it, its retry still will.
                if terminal.WhichOneof("kind") != "error":
                    self._cache.completed(start.idempotency_key, terminal)
                await events.send(terminal, terminal=True)
            except BaseException as exc:
                span.set_status(trace.StatusCode.ERROR, type(exc).__name__)
                raise

    def _span_attributes(self, start: agent_pb2.InvokeStart) -> dict:
        return {
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.name": self._card.name,
            "gen_ai.agent.version": self._card.version,
            "airspace.run.id": start.run_id,
            "airspace.step.key": start.step_key,
            "airspace.attempt": start.attempt,
        }

    async def _outcome(self, task: Task, requests, timeout: float | None) -> agent_pb2.InvokeEvent:
        """Runs the handler while reading ActionDecisions, within the call's deadline.

        Leaving early (deadline, protocol error, or the router cancelling the call, which
        cancels this coroutine) cancels the handler."""
        self._cache.executing(task.idempotency_key)
        handler = asyncio.create_task(self._handle(task))
        reader = asyncio.create_task(_read_decisions(requests, task))
        try:
            async with asyncio.timeout(timeout):
                await asyncio.wait((handler, reader), return_when=asyncio.FIRST_COMPLETED)
                if reader.done() and (broken := reader.exception()) is not None:
                    raise broken
                return await handler
        except TimeoutError as exc:
            raise errors.DeadlineExceeded(
                "the step's deadline passed before the agent finished"
            ) from exc
        finally:
            handler.cancel()
            reader.cancel()

    async def _handle(self, task: Task) -> agent_pb2.InvokeEvent:
        try:
            if inspect.iscoroutinefunction(self._handler):
                result = await self._handler(task)
            else:  # a plain function may block, so keep it off the event loop
                result = await asyncio.to_thread(self._handler, task)
            if isinstance(result, Reply):
                return final_event(self._card.name, result)
            if isinstance(result, Handoff):
                return handoff_event(self._card.name, result)
            raise TypeError(f"the handler returned {type(result).__name__}, not Reply or Handoff")
        except AgentFailure as failure:
            return agent_pb2.InvokeEvent(error=failure.to_proto())
        except Exception as exc:
            # The traceback without the exception's message, which may quote the input.
            log.error(
                "%s handler raised %s\n%s",
                self._card.name,
                type(exc).__name__,
                "".join(traceback.format_tb(exc.__traceback__)),
            )
            unexpected = AgentFailure(
                "INTERNAL", f"the agent failed unexpectedly ({type(exc).__name__})"
            )
            return agent_pb2.InvokeEvent(error=unexpected.to_proto())


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


async def _read_decisions(requests, task: Task) -> None:
    async for request in requests:
        if request.WhichOneof("kind") != "action_decision":
            raise errors.InvalidArgument(
                "only action decisions may follow the start message", field="start"
            )
        task.deliver(request.action_decision)
    task.close_decisions()


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
