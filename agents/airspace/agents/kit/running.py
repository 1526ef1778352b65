"""Where a handler runs, so that no handler holds up the agent's event loop (which answers
health checks and every other call):

- an async function runs on the event loop; it must await rather than block;
- a plain function runs in a worker thread (`run_in="thread"`, the default) — right for
  blocking I/O; a thread cannot be stopped, so past the step's deadline it finishes in the
  background (its result is kept for the retry);
- a plain function runs in a worker process (`run_in="process"`) — right for CPU-bound
  Python: a thread holds the GIL while it computes (a regular expression holds it for its
  whole match), which stalls the event loop too. Past the deadline its process is ended
  and replaced. It must be a module-level function (it is imported by the worker), and the
  Task it gets can read the step but not stream events.

Whatever the handler returns or raises becomes the attempt's terminal event."""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import logging
import multiprocessing
import os
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pebble
from opentelemetry import trace

from airspace.agent.v1 import agent_pb2
from airspace.agents.kit.convert import final_event, handoff_event
from airspace.agents.kit.outcomes import AgentFailure, Handoff, Reply
from airspace.agents.kit.task import EventWriter, Task

log = logging.getLogger("airspace.agent")
RUN_IN = ("thread", "process")


@dataclasses.dataclass(frozen=True)
class Handler:
    function: Callable
    run_in: str  # "loop", "thread" or "process"

    @classmethod
    def of(cls, function: Callable, run_in: str | None) -> Handler:
        if inspect.iscoroutinefunction(function):
            if run_in is not None:
                raise ValueError(
                    "an async handler runs on the event loop; run_in is for plain functions"
                )
            return cls(function, "loop")
        if run_in is not None and run_in not in RUN_IN:
            raise ValueError(f"run_in must be one of {', '.join(RUN_IN)}, not {run_in!r}")
        return cls(function, run_in or "thread")


class HandlerRunner:
    """Runs a handler for a task where it belongs and answers with its terminal event."""

    def __init__(self, author: str, handler: Handler, workers: int):
        self._author = author
        self._handler = handler
        workers = workers or os.cpu_count() or 1
        self._threads = (
            ThreadPoolExecutor(workers + 4, thread_name_prefix=f"{author}-handler")
            if handler.run_in == "thread"
            else None
        )
        # Spawned, not forked: a fork of a process running gRPC's threads is unsafe.
        self._processes = (
            pebble.ProcessPool(workers, context=multiprocessing.get_context("spawn"))
            if handler.run_in == "process"
            else None
        )

    @property
    def stoppable(self) -> bool:
        """Whether an attempt nobody waits for any more can be stopped (a thread cannot)."""
        return self._threads is None

    async def run(self, task: Task) -> agent_pb2.InvokeEvent:
        function = self._handler.function
        if self._threads is not None:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(
                self._threads, outcome_in_worker, self._author, function, task
            )
        if self._processes is not None:
            scheduled = self._processes.schedule(
                outcome_in_process, (self._author, function, task.start.SerializeToString())
            )
            try:  # cancelling this coroutine cancels the future, which ends its process
                return agent_pb2.InvokeEvent.FromString(await asyncio.wrap_future(scheduled))
            except pebble.ProcessExpired as exc:
                return failure_event(self._author, exc)
        try:
            return outcome_event(self._author, await function(task))
        except Exception as exc:
            return failure_event(self._author, exc)

    def close(self) -> None:
        if self._threads is not None:
            self._threads.shutdown(wait=False, cancel_futures=True)
        if self._processes is not None:
            self._processes.stop()
            self._processes.join()


def outcome_event(author: str, result: object) -> agent_pb2.InvokeEvent:
    if isinstance(result, Reply):
        return final_event(author, result)
    if isinstance(result, Handoff):
        return handoff_event(author, result)
    return failure_event(
        author, TypeError(f"the handler returned {type(result).__name__}, not Reply or Handoff")
    )


def failure_event(author: str, exc: BaseException) -> agent_pb2.InvokeEvent:
    if isinstance(exc, AgentFailure):
        return agent_pb2.InvokeEvent(error=exc.to_proto())
    # The traceback without the exception's message, which may quote the input.
    log.error(
        "%s handler raised %s\n%s",
        author,
        type(exc).__name__,
        "".join(traceback.format_tb(exc.__traceback__)),
    )
    unexpected = AgentFailure("INTERNAL", f"the agent failed unexpectedly ({type(exc).__name__})")
    return agent_pb2.InvokeEvent(error=unexpected.to_proto())


def outcome_in_worker(author: str, function: Callable, task: Task) -> agent_pb2.InvokeEvent:
    try:
        return outcome_event(author, function(task))
    except Exception as exc:
        return failure_event(author, exc)


def outcome_in_process(author: str, function: Callable, start: bytes) -> bytes:
    """In a worker process: the task rebuilt from its InvokeStart, the outcome serialized."""
    task = Task(
        agent_pb2.InvokeStart.FromString(start), EventWriter(_no_stream), trace.INVALID_SPAN
    )
    return outcome_in_worker(author, function, task).SerializeToString()


async def _no_stream(event: agent_pb2.InvokeEvent) -> None:
    raise RuntimeError("a handler in a worker process cannot stream events; return the outcome")
