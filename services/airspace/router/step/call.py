"""What flows down a step's chain of stages: one call in, one result back up.

Each stage does one job and hands the call to the next stage (like an interceptor
chain); a stage that changes what the inner stages see passes on a changed copy.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Protocol

from airspace.agent.v1 import agent_pb2
from airspace.router.payload import ContextItem, Payload
from airspace.router.run_context import RunContext
from airspace.router.spec import Step
from airspace.router.step_key import StepKey


@dataclasses.dataclass(frozen=True)
class StepCall:
    """One step to run: where in which run, what the workflow says of it, what it gets,
    and the agent acting for it (its fallback may take over)."""

    ctx: RunContext
    key: StepKey
    step: Step
    input: Payload
    context: list[ContextItem]
    # The agents the workflow lets this step hand off to; None when the pattern has no
    # handoffs (a handoff request then fails the step).
    handoff_targets: list[str] | None
    agent: str


@dataclasses.dataclass(frozen=True)
class StepResult:
    """What a step produced: its output, the agent that produced it (a fallback may have
    taken over), and a handoff request if it asked for one. Whether a handoff is accepted
    is the pattern's decision, never the agent's."""

    payload: Payload
    agent: str
    handoff_target: str = ""
    handoff_reason: str = ""
    # Why a person must review the output before the run goes on (see reviews.py).
    review: dict[str, Any] | None = None

    @property
    def confidence(self) -> float | None:
        return self.payload.confidence


@dataclasses.dataclass(frozen=True)
class AgentOutput:
    """What the agent's last attempt produced, on its way to the journal: the output
    (`final`, and `payload` as policy and the next step see it) and how it was made."""

    final: agent_pb2.FinalOutput
    payload: Payload
    attempt: int
    duration: float
    usage: agent_pb2.Usage
    handoff: agent_pb2.HandoffRequest | None = None
    review: dict[str, Any] | None = None


class StepStage(Protocol):
    """A stage that answers with the step's result."""

    async def run(self, call: StepCall) -> StepResult: ...


class AgentStage(Protocol):
    """A stage between the journal and the agent: it answers with the agent's output."""

    async def run(self, call: StepCall) -> AgentOutput: ...
