"""One step attempt: a bidi Invoke stream to an agent, checked against the contract.

The agent must number its events from 1 and end with exactly one terminal event
(final output, handoff or error). Anything else — garbage, silence past the
deadline, a second terminal event — is a failed attempt with a clear reason,
never a hung run.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import grpc

from airspace.agent.v1 import agent_pb2, agent_pb2_grpc
from airspace.mesh import channels, errors, json_values
from airspace.mesh.reasons import Reason
from airspace.mesh.settings import ServerSettings
from airspace.router.a2a_adapter import A2AAdapter
from airspace.router.agent_admission import AdmissionTimeout, AgentAdmission
from airspace.router.attempt import RETRYABLE_CODES, Attempt, OnEvent, describe_rpc_error
from airspace.v1 import agent_registry_pb2
from airspace.v1.agent_registry_pb2 import AGENT_PROTOCOL_A2A as A2A
from airspace.v1.agent_registry_pb2 import AGENT_PROTOCOL_AIRSPACE as AIRSPACE

TERMINAL = ("final", "handoff", "error")
# The reason of each kind of error an agent reports; an unspecified kind is internal.
_AGENT_ERRORS = {
    agent_pb2.AGENT_ERROR_KIND_INVALID_INPUT: Reason.AGENT_INVALID_INPUT,
    agent_pb2.AGENT_ERROR_KIND_DEPENDENCY: Reason.AGENT_DEPENDENCY,
    agent_pb2.AGENT_ERROR_KIND_REJECTED: Reason.AGENT_REJECTED,
    agent_pb2.AGENT_ERROR_KIND_PENDING_APPROVAL: Reason.AGENT_PENDING_APPROVAL,
    agent_pb2.AGENT_ERROR_KIND_INTERNAL: Reason.AGENT_INTERNAL,
}


class ContractViolation(Exception):
    """The agent answered outside the Invoke contract."""


OnAction = Callable[[agent_pb2.ActionRequest], Awaitable[agent_pb2.ActionDecision]]
InvokeCall = grpc.aio.StreamStreamCall[agent_pb2.InvokeRequest, agent_pb2.InvokeEvent]
Outgoing = asyncio.Queue[agent_pb2.InvokeRequest | None]


class AgentInvoker:
    def __init__(self, settings: ServerSettings, max_calls_per_agent: int = 256):
        self._settings = settings
        self._admission = AgentAdmission(max_calls_per_agent)
        self._channels: dict[str, grpc.aio.Channel] = {}
        self._a2a = A2AAdapter(settings)
        # Endpoints registered as A2A agents, for calls that do not name the protocol.
        self._a2a_endpoints: set[str] = set()

    def _stub(self, endpoint: str) -> agent_pb2_grpc.AgentServiceStub:
        channel = self._channels.get(endpoint)
        if channel is None:
            channel = channels.open_channel(endpoint, self._settings, send_identity=False)
            self._channels[endpoint] = channel
        return agent_pb2_grpc.AgentServiceStub(channel)

    async def card(
        self,
        endpoint: str,
        timeout: float = 5.0,
        protocol: agent_registry_pb2.AgentProtocol = AIRSPACE,
    ) -> agent_pb2.AgentCard:
        if protocol == A2A:
            card = await self._a2a.card(endpoint, timeout)
            self._a2a_endpoints.add(endpoint)
            return card
        self._a2a_endpoints.discard(endpoint)
        response: agent_pb2.GetAgentCardResponse = await self._stub(endpoint).GetAgentCard(
            agent_pb2.GetAgentCardRequest(), timeout=timeout
        )
        return response.card

    async def invoke(
        self,
        endpoint: str,
        start: agent_pb2.InvokeStart,
        timeout: float,
        on_event: OnEvent,
        on_action: OnAction,
        protocol: agent_registry_pb2.AgentProtocol | None = None,
    ) -> Attempt:
        began = time.monotonic()
        try:
            async with self._admission.slot(endpoint, timeout) as time_left:
                if protocol == A2A or (protocol is None and endpoint in self._a2a_endpoints):
                    return await self._a2a.invoke(endpoint, start, time_left, on_event)
                return await self._invoke(endpoint, start, time_left, on_event, on_action)
        except AdmissionTimeout as exc:
            duration = time.monotonic() - began
            return Attempt(
                duration, failure=str(exc), failure_code=Reason.AGENT_TIMEOUT, retryable=True
            )

    async def _invoke(
        self,
        endpoint: str,
        start: agent_pb2.InvokeStart,
        timeout: float,
        on_event: OnEvent,
        on_action: OnAction,
    ) -> Attempt:
        began = time.monotonic()
        outgoing: Outgoing = asyncio.Queue()
        outgoing.put_nowait(agent_pb2.InvokeRequest(start=start))

        async def requests() -> AsyncIterator[agent_pb2.InvokeRequest]:
            while (request := await outgoing.get()) is not None:
                yield request

        call: InvokeCall = self._stub(endpoint).Invoke(requests(), timeout=timeout)
        attempt = Attempt(duration=0.0)
        try:
            await _read_events(call, attempt, outgoing, on_event, on_action)
        except ContractViolation as exc:
            call.cancel()
            attempt.final = attempt.handoff = None  # a result followed by garbage is no result
            attempt.failure = f"out of contract: {exc}"
            attempt.failure_code = Reason.CONTRACT_VIOLATION
        except grpc.aio.AioRpcError as exc:
            attempt.failure, attempt.failure_code = describe_rpc_error(exc, endpoint, timeout)
            attempt.retryable = exc.code() in RETRYABLE_CODES
        finally:
            outgoing.put_nowait(None)
            attempt.duration = time.monotonic() - began
        return attempt

    async def close(self) -> None:
        for channel in self._channels.values():
            await channel.close()
        await self._a2a.close()


async def _read_events(
    call: InvokeCall,
    attempt: Attempt,
    outgoing: Outgoing,
    on_event: OnEvent,
    on_action: OnAction,
) -> None:
    expected, terminal = 1, None
    async for event in call:
        kind = event.WhichOneof("kind")
        if kind is None:
            raise ContractViolation(f"event {event.sequence} has no kind")
        if event.sequence != expected:
            raise ContractViolation(f"event sequence {event.sequence}, expected {expected}")
        if terminal is not None:
            raise ContractViolation(f"event {event.sequence} ({kind}) after the terminal event")
        expected += 1
        if kind in TERMINAL:
            terminal = kind
            outgoing.put_nowait(None)
            _record_terminal(event, attempt)
        elif kind == "action_request":
            decision = await on_action(event.action_request)
            outgoing.put_nowait(agent_pb2.InvokeRequest(action_decision=decision))
        elif kind == "usage":
            attempt.usage.CopyFrom(event.usage)
            await on_event(event)
        else:
            await on_event(event)
    if terminal is None:
        raise ContractViolation("the stream ended without a final output, handoff or error")


def _record_terminal(event: agent_pb2.InvokeEvent, attempt: Attempt) -> None:
    kind = event.WhichOneof("kind")
    if kind == "final":
        try:  # output that JSON cannot hold would fail policy, conditions and storage later
            json_values.struct_dict(event.final.data, "final.data")
        except errors.InvalidArgument as exc:
            raise ContractViolation(exc.message) from exc
        attempt.final = event.final
    elif kind == "handoff":
        attempt.handoff = event.handoff
    else:
        error = event.error
        kind_name = agent_pb2.AgentErrorKind.Name(error.kind).removeprefix("AGENT_ERROR_KIND_")
        attempt.failure = f"agent error {kind_name}: {error.message}"
        attempt.failure_code = _AGENT_ERRORS.get(error.kind, Reason.AGENT_INTERNAL)
        attempt.retryable = error.retryable
