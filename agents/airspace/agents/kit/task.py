"""The task a handler receives: the step's input as plain values, and the ways to report back."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable

from opentelemetry import trace

from airspace.agent.v1 import agent_pb2
from airspace.agents.kit.convert import data_of, text_of, to_dict, to_struct
from airspace.agents.kit.decisions import DecisionReader
from airspace.agents.kit.outcomes import AgentFailure
from airspace.mesh import errors


class EventWriter:
    """Numbers events from 1 and writes them one at a time; nothing may follow the terminal one."""

    def __init__(self, write: Callable[[agent_pb2.InvokeEvent], Awaitable[None]]):
        self._write = write
        self._sequence = 0
        self._lock = asyncio.Lock()
        self._ended = False
        self._detached = False

    def detach(self) -> None:
        """The call has ended: later events (of a handler running on) are dropped."""
        self._detached = True

    async def send(self, event: agent_pb2.InvokeEvent, *, terminal: bool = False) -> None:
        async with self._lock:
            if self._detached:
                return
            if self._ended:
                raise RuntimeError("the step has already ended; no more events may be sent")
            self._sequence += 1
            event.sequence = self._sequence
            await self._write(event)
            self._ended = terminal


@dataclasses.dataclass(frozen=True)
class ContextMessage:
    """A message of the step's context, already filtered and masked by policy."""

    role: str  # USER, AGENT, SYSTEM or TOOL
    author: str
    text: str
    data: dict

    @classmethod
    def from_proto(cls, message: agent_pb2.Message) -> ContextMessage:
        role = agent_pb2.Role.Name(message.role).removeprefix("ROLE_")
        return cls(role=role, author=message.author, text=text_of(message), data=data_of(message))


@dataclasses.dataclass(frozen=True)
class Decision:
    """The mesh's answer to an action request."""

    action_id: str
    verdict: str  # ALLOWED, DENIED or PENDING_APPROVAL
    reason: str = ""
    approval_id: str = ""
    # The arguments to act with: an approver may have edited the requested ones.
    arguments: dict = dataclasses.field(default_factory=dict)

    @property
    def allowed(self) -> bool:
        return self.verdict == "ALLOWED"

    @classmethod
    def from_proto(cls, decision: agent_pb2.ActionDecision, requested: dict | None = None):
        return cls(
            action_id=decision.action_id,
            verdict=agent_pb2.ActionVerdict.Name(decision.verdict).removeprefix("ACTION_VERDICT_"),
            reason=decision.reason,
            approval_id=decision.approval_id,
            arguments=(
                to_dict(decision.arguments) if decision.HasField("arguments") else requested or {}
            ),
        )


class Task:
    """One step attempt as the handler sees it."""

    def __init__(
        self,
        start: agent_pb2.InvokeStart,
        events: EventWriter,
        span: trace.Span,
        decisions: DecisionReader | None = None,  # none where events cannot be streamed
    ):
        self.start = start  # the raw InvokeStart, for anything not exposed below
        self.text = text_of(start.input)
        self.data = data_of(start.input)
        self.context = [ContextMessage.from_proto(message) for message in start.context]
        self.parameters = to_dict(start.parameters)
        self.run_id = start.run_id
        self.step_key = start.step_key
        self.step_name = start.step_name
        self.attempt = start.attempt
        self.idempotency_key = start.idempotency_key
        self.tenant = start.tenant
        self.hop_count = start.hop_count
        self.allowed_handoffs = list(start.allowed_handoffs)
        self.allowed_actions = list(start.allowed_actions)
        self.prior_action_decisions = [Decision.from_proto(d) for d in start.prior_action_decisions]
        self._events = events
        self._span = span
        self._decisions = decisions
        self._actions_requested = 0
        self._pending: dict[str, asyncio.Future] = {}
        self._decisions_closed = False

    @property
    def context_data(self) -> dict:
        """The data parts of all context messages merged, later messages winning."""
        merged: dict = {}
        for message in self.context:
            merged.update(message.data)
        return merged

    async def progress(self, message: str, fraction: float | None = None) -> None:
        if fraction is not None and not 0.0 <= fraction <= 1.0:
            raise ValueError("progress fraction must be between 0 and 1")
        progress = agent_pb2.Progress(
            message=message, fraction=fraction or 0.0, state=agent_pb2.TASK_STATE_WORKING
        )
        await self._events.send(agent_pb2.InvokeEvent(progress=progress))

    async def partial(self, text: str) -> None:
        part = agent_pb2.Part(text=text, media_type="text/plain")
        await self._events.send(agent_pb2.InvokeEvent(partial=agent_pb2.PartialOutput(part=part)))

    async def report_usage(
        self, input_tokens: int = 0, output_tokens: int = 0, cost_micros: int = 0, model: str = ""
    ) -> None:
        """Reports resources used so far; values are cumulative for the attempt."""
        usage = agent_pb2.Usage(
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cost_micros=cost_micros,
            model=model,
        )
        self._span.set_attribute("gen_ai.usage.input_tokens", input_tokens)
        self._span.set_attribute("gen_ai.usage.output_tokens", output_tokens)
        await self._events.send(agent_pb2.InvokeEvent(usage=usage))

    async def request_action(
        self, name: str, arguments: dict | None = None, reason: str = ""
    ) -> Decision:
        """Asks the mesh before acting and waits for its decision (ALLOWED or DENIED).

        Action ids are numbered in request order, so a re-invoked attempt that requests the
        same actions finds the decisions made meanwhile (e.g. by an approver) in
        prior_action_decisions without asking again. When a human must decide, this raises
        AgentFailure PENDING_APPROVAL, which ends the attempt as the contract asks."""
        self._actions_requested += 1
        action_id = f"{name}#{self._actions_requested}"
        prior = next((d for d in self.prior_action_decisions if d.action_id == action_id), None)
        if prior is not None and prior.verdict in ("ALLOWED", "DENIED"):
            return (
                prior if prior.arguments else dataclasses.replace(prior, arguments=arguments or {})
            )
        if self._decisions_closed:
            raise _closed_failure(action_id)
        future = asyncio.get_running_loop().create_future()
        self._pending[action_id] = future
        if self._decisions is not None:
            self._decisions.start(self)
        try:
            request = agent_pb2.ActionRequest(
                action_id=action_id, name=name, arguments=to_struct(arguments), reason=reason
            )
            await self._events.send(agent_pb2.InvokeEvent(action_request=request))
            decision = Decision.from_proto(await future, requested=arguments)
        finally:
            del self._pending[action_id]
        if decision.verdict == "PENDING_APPROVAL":
            raise AgentFailure(
                "PENDING_APPROVAL", f"action {name} is waiting for approval", retryable=True
            )
        return decision

    def deliver(self, decision: agent_pb2.ActionDecision) -> None:
        """Hands an ActionDecision from the request stream to the request waiting for it."""
        future = self._pending.get(decision.action_id)
        if future is None or future.done():
            raise errors.InvalidArgument(
                f"no pending action request {decision.action_id!r}",
                field="action_decision.action_id",
            )
        if decision.verdict == agent_pb2.ACTION_VERDICT_UNSPECIFIED:
            raise errors.InvalidArgument(
                "an action decision needs a verdict", field="action_decision.verdict"
            )
        future.set_result(decision)

    def close_decisions(self) -> None:
        """The router closed its side of the stream: no decision can arrive any more."""
        self._decisions_closed = True
        for action_id, future in self._pending.items():
            if not future.done():
                future.set_exception(_closed_failure(action_id))


def _closed_failure(action_id: str) -> AgentFailure:
    return AgentFailure(
        "DEPENDENCY",
        f"the router closed the stream before deciding action {action_id}",
        retryable=True,
    )
