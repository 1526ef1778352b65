"""What the checks share: the probe, the options, the agent's card and the baseline call."""

from __future__ import annotations

import dataclasses
import itertools
import json
import secrets
from collections.abc import Awaitable, Callable

from airspace.agent.v1 import agent_pb2
from airspace.conformance.model import CheckResult, SuiteOptions
from airspace.conformance.probe import AgentProbe, Invocation

DEFAULT_INPUT = "Hello from the Airspace conformance kit. Please do your usual work on this text."


@dataclasses.dataclass(frozen=True)
class Check:
    id: str
    title: str
    # What the contract expects, shown with every result.
    expected: str
    # How to fix a failure, shown when the check did not set a more precise hint.
    fix: str
    run: Callable[[CheckContext, CheckResult], Awaitable[None]]


def check(id: str, title: str, *, expected: str, fix: str = ""):
    """Decorator turning `async def f(ctx, result)` into a Check of the suite."""

    def wrap(function) -> Check:
        return Check(id, title, expected, fix, function)

    return wrap


def input_parts(text: str) -> list[agent_pb2.Part]:
    """A JSON object becomes a data part (for agents that take structured input), any other
    text a text part, and no text no part at all."""
    if not text:
        return []
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        part = agent_pb2.Part(media_type="application/json")
        part.data.update(data)
        return [part]
    return [agent_pb2.Part(text=text, media_type="text/plain")]


class CheckContext:
    def __init__(self, probe: AgentProbe, options: SuiteOptions):
        self.probe = probe
        self.options = options
        self.card: agent_pb2.AgentCard | None = None
        self.unreachable = False
        # A fresh run id per suite run, so a long-running agent's idempotency cache never
        # answers this run's calls with results of an earlier one.
        self._run_id = f"conformance-{secrets.token_hex(4)}"
        self._steps = itertools.count(1)
        # The baseline call: its start message (for a retry of the same step) and what came back.
        self._baseline: tuple[agent_pb2.InvokeRequest, Invocation] | None = None

    @property
    def input_text(self) -> str:
        if self.options.input_text:
            return self.options.input_text
        examples = [e for skill in (self.card.skills if self.card else ()) for e in skill.examples]
        return examples[0] if examples else DEFAULT_INPUT

    def start(
        self,
        text: str | None = None,
        *,
        allowed_handoffs=(),
        allowed_actions=(),
    ) -> agent_pb2.InvokeRequest:
        """A well-formed InvokeStart for a new step, with the suite's input by default."""
        step_key = f"s{next(self._steps):04d}-conformance"
        text = self.input_text if text is None else text
        start = agent_pb2.InvokeStart(
            idempotency_key=f"{self._run_id}/{step_key}",
            run_id=self._run_id,
            step_key=step_key,
            attempt=1,
            tenant="conformance",
            step_name="conformance",
            allowed_handoffs=allowed_handoffs,
            allowed_actions=allowed_actions,
            input=agent_pb2.Message(
                message_id=secrets.token_hex(8),
                role=agent_pb2.ROLE_USER,
                author="airspace-conformance",
                parts=input_parts(text),
            ),
        )
        start.workflow.name, start.workflow.version = "conformance", 1
        start.input.create_time.GetCurrentTime()
        return agent_pb2.InvokeRequest(start=start)

    @staticmethod
    def retry(request: agent_pb2.InvokeRequest) -> agent_pb2.InvokeRequest:
        """The next attempt of the same step, as the router sends it: same idempotency key."""
        again = agent_pb2.InvokeRequest()
        again.CopyFrom(request)
        again.start.attempt += 1
        return again

    async def baseline(self) -> Invocation:
        """One ordinary call with the suite's input, made once and judged by several checks."""
        _, invocation = await self._baseline_call()
        return invocation

    async def baseline_retry(self) -> agent_pb2.InvokeRequest:
        """The baseline call's next attempt: the same step with the same idempotency key."""
        request, _ = await self._baseline_call()
        return self.retry(request)

    async def _baseline_call(self) -> tuple[agent_pb2.InvokeRequest, Invocation]:
        if self._baseline is None:
            request = self.start()
            self._baseline = (request, await self.probe.invoke([request]))
        return self._baseline
