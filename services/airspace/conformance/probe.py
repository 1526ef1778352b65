"""The suite's gRPC client: calls an agent and records everything that crossed the wire."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Sequence

import grpc
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc

from airspace.agent.v1 import agent_pb2, agent_pb2_grpc
from airspace.conformance import describe
from airspace.conformance.model import Exchange
from airspace.mesh.errors import status_details

TERMINAL = ("final", "handoff", "error")
Decide = Callable[[agent_pb2.ActionRequest], agent_pb2.ActionDecision]


@dataclasses.dataclass
class Invocation:
    """One Invoke call as seen from the caller's side."""

    sent: list[str] = dataclasses.field(default_factory=list)
    events: list[agent_pb2.InvokeEvent] = dataclasses.field(default_factory=list)
    code: grpc.StatusCode = grpc.StatusCode.OK
    details: str = ""
    violations: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    # How many events had arrived when each decision was sent, by action id.
    decided_after: dict[str, int] = dataclasses.field(default_factory=dict)
    cancelled: bool = False

    @property
    def ok(self) -> bool:
        return self.code == grpc.StatusCode.OK

    @property
    def terminal(self) -> agent_pb2.InvokeEvent:
        """The first terminal event, or an empty one (of no kind) when none came."""
        terminals = [e for e in self.events if e.WhichOneof("kind") in TERMINAL]
        return terminals[0] if terminals else agent_pb2.InvokeEvent()

    @property
    def terminal_kind(self) -> str | None:
        return self.terminal.WhichOneof("kind")

    def exchange(self, label: str = "Invoke") -> Exchange:
        received = [describe.event(e) for e in self.events]
        if self.cancelled:
            received.append("(the suite cancelled the call here)")
        else:
            received.append(describe.status(self.code.name, self.details, self.violations))
        return Exchange(label, list(self.sent), received)


class AgentProbe:
    def __init__(self, target: str, timeout: float):
        self.target = target
        self.timeout = timeout
        self._channel = grpc.aio.insecure_channel(target)
        self._agent = agent_pb2_grpc.AgentServiceStub(self._channel)
        self._health = health_pb2_grpc.HealthStub(self._channel)

    async def health(self, service: str = "") -> str:
        # types-grpcio-health-checking declares HealthStub without its methods.
        response = await self._health.Check(  # type: ignore[attr-defined]
            health_pb2.HealthCheckRequest(service=service), timeout=self.timeout
        )
        return health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)

    async def card(self) -> agent_pb2.AgentCard:
        response = await self._agent.GetAgentCard(
            agent_pb2.GetAgentCardRequest(), timeout=self.timeout
        )
        return response.card

    async def invoke(
        self,
        requests: Sequence[agent_pb2.InvokeRequest],
        *,
        timeout: float | None = None,
        keep_open: bool = True,
        decide: Decide | None = None,
        wait_before_deciding: float = 0.0,
        cancel_after_events: int = 0,
    ) -> Invocation:
        """Sends `requests`, then reads until the stream ends.

        Like the router, it keeps its side open until the terminal event (unless
        `keep_open` is False) and answers action requests with `decide` (default: DENIED),
        after giving the agent `wait_before_deciding` seconds to (wrongly) go on without a
        decision."""
        outgoing: asyncio.Queue[agent_pb2.InvokeRequest | None] = asyncio.Queue()
        for request in requests:
            outgoing.put_nowait(request)
        if not keep_open:
            outgoing.put_nowait(None)

        async def stream():
            while (request := await outgoing.get()) is not None:
                yield request

        result = Invocation(sent=[describe.request(r) for r in requests])
        call = self._agent.Invoke(stream(), timeout=timeout or self.timeout)
        pending: asyncio.Future | None = None
        try:
            while True:
                event = await (pending or call.read())
                pending = None
                if event is grpc.aio.EOF:
                    break
                result.events.append(event)
                kind = event.WhichOneof("kind")
                if cancel_after_events and len(result.events) >= cancel_after_events:
                    call.cancel()
                    result.cancelled = True
                    break
                if kind in TERMINAL:
                    outgoing.put_nowait(None)
                elif kind == "action_request":
                    if wait_before_deciding:
                        pending = asyncio.ensure_future(call.read())
                        await asyncio.wait({pending}, timeout=wait_before_deciding)
                    decision = (decide or _deny)(event.action_request)
                    early = 1 if pending is not None and pending.done() else 0
                    result.decided_after[decision.action_id] = len(result.events) + early
                    result.sent.append(
                        describe.request(agent_pb2.InvokeRequest(action_decision=decision))
                    )
                    outgoing.put_nowait(agent_pb2.InvokeRequest(action_decision=decision))
            if not result.cancelled:
                result.code = await call.code()
                result.details = await call.details() or ""
        except grpc.aio.AioRpcError as exc:
            result.code, result.details = exc.code(), exc.details() or ""
            result.violations = _violations(exc)
        finally:
            outgoing.put_nowait(None)
            if pending is not None:
                pending.cancel()
        return result

    async def close(self) -> None:
        await self._channel.close()


def _deny(request: agent_pb2.ActionRequest) -> agent_pb2.ActionDecision:
    """What the router answers to an action the step does not allow."""
    return agent_pb2.ActionDecision(
        action_id=request.action_id,
        verdict=agent_pb2.ACTION_VERDICT_DENIED,
        reason="the conformance suite allows no action in this call",
    )


def _violations(error: grpc.aio.AioRpcError) -> list[tuple[str, str]]:
    return [
        (violation.field, violation.description)
        for detail in status_details(error)
        if isinstance(detail, error_details_pb2.BadRequest)
        for violation in detail.field_violations
    ]
