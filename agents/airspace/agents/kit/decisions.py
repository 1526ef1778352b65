"""The router's side of an Invoke stream after its start message: action decisions.

The stream is read only once the handler asks for an action: a step that asks for none
(most steps) never waits on a read, which costs a gRPC operation per call."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Protocol

from airspace.agent.v1 import agent_pb2
from airspace.mesh import errors


class DecisionSink(Protocol):
    """Where decisions go: the handler's task (task.py)."""

    def deliver(self, decision: agent_pb2.ActionDecision) -> None: ...

    def close_decisions(self) -> None: ...


class DecisionReader:
    def __init__(self, requests: AsyncIterator[agent_pb2.InvokeRequest]):
        self._requests = requests
        self._reading: asyncio.Task[None] | None = None
        # Resolves to the error that broke the stream (a message outside the contract).
        self.failure: asyncio.Future[Exception] = asyncio.get_running_loop().create_future()

    def start(self, task: DecisionSink) -> None:
        """Hands every decision that arrives from now on to `task` (once is enough)."""
        if self._reading is None:
            self._reading = asyncio.ensure_future(self._read(task))

    def stop(self) -> None:
        if self._reading is not None:
            self._reading.cancel()

    async def _read(self, task: DecisionSink) -> None:
        try:
            async for request in self._requests:
                if request.WhichOneof("kind") != "action_decision":
                    raise errors.InvalidArgument(
                        "only action decisions may follow the start message", field="start"
                    )
                task.deliver(request.action_decision)
            task.close_decisions()
        except Exception as exc:
            if not self.failure.done():
                self.failure.set_result(exc)
