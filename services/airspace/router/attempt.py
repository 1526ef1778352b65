"""How a step attempt ended, whichever protocol the agent speaks (Airspace or A2A)."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable

import grpc

from airspace.agent.v1 import agent_pb2
from airspace.mesh.reasons import Reason

# gRPC codes after which the same attempt may succeed.
RETRYABLE_CODES = {
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.ABORTED,
}


@dataclasses.dataclass
class Attempt:
    """How one attempt ended: exactly one of final, handoff or failure is set."""

    duration: float
    final: agent_pb2.FinalOutput | None = None
    handoff: agent_pb2.HandoffRequest | None = None
    failure: str = ""
    failure_code: str = ""
    retryable: bool = False
    usage: agent_pb2.Usage = dataclasses.field(default_factory=agent_pb2.Usage)


OnEvent = Callable[[agent_pb2.InvokeEvent], Awaitable[None]]


def describe_rpc_error(
    exc: grpc.aio.AioRpcError, endpoint: str, timeout: float
) -> tuple[str, Reason]:
    code = exc.code()
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return f"the agent did not finish within {timeout:.1f}s", Reason.AGENT_TIMEOUT
    if code == grpc.StatusCode.UNAVAILABLE:
        return f"the agent at {endpoint} is unreachable ({exc.details()})", Reason.AGENT_UNAVAILABLE
    if code == grpc.StatusCode.INTERNAL and "deserializ" in (exc.details() or "").lower():
        return (
            "out of contract: the agent sent bytes that are not an InvokeEvent",
            Reason.CONTRACT_VIOLATION,
        )
    return f"the agent call failed with {code.name}: {exc.details()}", Reason.AGENT_CALL_FAILED
