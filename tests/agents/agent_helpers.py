"""Helpers to build Invoke requests and check the shape of the event stream."""

from __future__ import annotations

import grpc
from google.protobuf import struct_pb2

from airspace.agent.v1 import agent_pb2

TERMINAL_KINDS = ("final", "handoff", "error")


def start_request(
    text: str = "",
    data: dict | None = None,
    context: list[agent_pb2.Message] = (),
    key: str = "key-1",
    **fields,
) -> agent_pb2.InvokeRequest:
    message = agent_pb2.Message(message_id="m1", role=agent_pb2.ROLE_USER, author="tester")
    if text:
        message.parts.append(agent_pb2.Part(text=text))
    if data is not None:
        message.parts.append(agent_pb2.Part(data=struct(data)))
    fields = {"run_id": "run-1", "step_key": "s0001-step", "attempt": 1} | fields
    start = agent_pb2.InvokeStart(idempotency_key=key, input=message, context=context, **fields)
    return agent_pb2.InvokeRequest(start=start)


def data_message(author: str, data: dict) -> agent_pb2.Message:
    return agent_pb2.Message(
        message_id=f"ctx-{author}",
        role=agent_pb2.ROLE_AGENT,
        author=author,
        parts=[agent_pb2.Part(data=struct(data))],
    )


def struct(values: dict) -> struct_pb2.Struct:
    result = struct_pb2.Struct()
    result.update(values)
    return result


async def invoke(
    stub, *requests, timeout: float = 10.0, metadata=()
) -> list[agent_pb2.InvokeEvent]:
    """Sends the requests, half-closes, and returns every event, checking the stream's shape."""
    call = stub.Invoke(iter(requests), timeout=timeout, metadata=metadata)
    events = [event async for event in call]
    assert_well_formed(events)
    return events


async def read_rest(call) -> list[agent_pb2.InvokeEvent]:
    """Reads a call that was already read from with read() (the two styles may not mix)."""
    events = []
    while (event := await call.read()) is not grpc.aio.EOF:
        events.append(event)
    return events


def assert_well_formed(events: list[agent_pb2.InvokeEvent]) -> None:
    assert [event.sequence for event in events] == list(range(1, len(events) + 1))
    kinds = [event.WhichOneof("kind") for event in events]
    assert kinds[-1] in TERMINAL_KINDS
    assert sum(kind in TERMINAL_KINDS for kind in kinds) == 1
