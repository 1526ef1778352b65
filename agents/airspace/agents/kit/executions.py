"""Step attempts in flight, by idempotency key: a call whose key is already running waits
for that execution's outcome instead of running the handler a second time, and every
completed result goes to the result store as the handler ends — whether or not a call
still waits for it, so a retry after a lost answer finds it."""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Coroutine
from typing import Any

from airspace.agent.v1 import agent_pb2
from airspace.agents.kit.results import ResultStore


class Execution:
    """One run of the handler, and the calls waiting for its outcome."""

    def __init__(self, future: asyncio.Future[agent_pb2.InvokeEvent], stoppable: bool):
        self.future = future
        self._stoppable = stoppable
        self._waiting = 0

    async def outcome(
        self, timeout: float | None, failure: asyncio.Future[Exception] | None = None
    ) -> agent_pb2.InvokeEvent:
        """Waits for the outcome within `timeout` (TimeoutError past it). `failure`, when it
        resolves first, ends the wait with the error it resolves to. The last waiter to
        leave before the end stops the handler, if it can be stopped."""
        self._waiting += 1
        try:
            # One wait, which leaves the execution running when this waiter is cancelled.
            waited = (self.future,) if failure is None else (self.future, failure)
            await asyncio.wait(waited, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            if failure is not None and failure.done():
                raise failure.result()
            if not self.future.done():
                raise TimeoutError
            return self.future.result()
        finally:
            self._waiting -= 1
            if not self._waiting and self._stoppable:
                self.future.cancel()


class Executions:
    def __init__(self, results: ResultStore, counted_keys: int):
        self._results = results
        self._running: dict[str, Execution] = {}
        # How often the handler ran per key, for the most recent keys: what idempotency
        # promises to keep at one.
        self._counts: collections.OrderedDict[str, int] = collections.OrderedDict()
        self._counted_keys = counted_keys

    def running(self, key: str) -> Execution | None:
        return self._running.get(key)

    def start(
        self, key: str, work: Coroutine[Any, Any, agent_pb2.InvokeEvent], stoppable: bool
    ) -> Execution:
        execution = Execution(asyncio.ensure_future(self._kept(key, work)), stoppable)
        self._running[key] = execution
        self._count(key)
        return execution

    def counts(self) -> dict[str, int]:
        return dict(self._counts)

    def _count(self, key: str) -> None:
        self._counts[key] = self._counts.get(key, 0) + 1
        self._counts.move_to_end(key)
        if len(self._counts) > self._counted_keys:
            self._counts.popitem(last=False)

    async def _kept(
        self, key: str, work: Coroutine[Any, Any, agent_pb2.InvokeEvent]
    ) -> agent_pb2.InvokeEvent:
        """Runs the work and keeps its result before the execution counts as done, so no
        call finds it done with its result not yet kept."""
        try:
            terminal = await work
            # Failures are not kept: the retry of a failed attempt runs the handler again.
            if terminal.WhichOneof("kind") != "error":
                self._results.put(key, terminal)
            return terminal
        finally:
            del self._running[key]
