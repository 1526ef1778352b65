"""The validated, immutable form of a workflow document."""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
from typing import Any, ClassVar, TypeVar

from airspace.policy.engine.conditions import Condition
from airspace.router.validation import OutputContract

# A workflow document, or a mapping inside one, as YAML or JSON parsed it.
Document = dict[str, Any]


class Pattern(enum.StrEnum):
    """How a workflow's agents take turns; the value is the document's `pattern`."""

    SEQUENTIAL = "sequential"
    CONCURRENT = "concurrent"
    GROUP_CHAT = "group_chat"
    HANDOFF = "handoff"


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 3
    initial_backoff: float = 0.2
    max_backoff: float = 5.0
    multiplier: float = 2.0


@dataclasses.dataclass(frozen=True)
class InputMapping:
    """Which earlier output a step receives: "previous", "run" or a step name, and
    optionally only some of its data fields."""

    source: str = "previous"
    fields: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class Route:
    """Go to `goto` when `when` holds (always, when it is None); "end" ends the run."""

    goto: str
    when: Condition | None = None


@dataclasses.dataclass(frozen=True)
class ApprovalPoint:
    """A person reviews the step: before it runs, after it (its output), or both."""

    before: bool = False
    after: bool = False
    role: str = "approver"
    deadline: float = 7 * 24 * 3600.0
    on_reject: str = (
        "stop"  # stop | retry (the agent again, with the reviewer's comment) | escalate
    )
    escalate_to: str = ""  # role that reviews next, on escalate or on expiry
    on_expiry: str = "fail"  # fail | escalate
    max_reviews: int = 3  # retries after a rejection, at most


@dataclasses.dataclass(frozen=True)
class Step:
    """One agent invocation as the workflow describes it (a sequential step, a
    concurrent branch, a chat turn or a handoff hop all run as a Step)."""

    name: str
    agent: str
    timeout: float | None = None
    retry: RetryPolicy = RetryPolicy()
    parameters: Document = dataclasses.field(default_factory=dict)
    fallback_agent: str | None = None
    on_failure: str = "fail"
    # Actions (tool names) the agent may request; policy still decides each.
    actions: tuple[str, ...] = ()
    input: InputMapping = InputMapping()
    when: Condition | None = None
    next: tuple[Route, ...] = ()
    # The concurrent branch this step is, for grouping in a run's path.
    branch: str = ""
    approval: ApprovalPoint | None = None
    # An output less confident than this goes to a person before the run goes on.
    min_confidence: float | None = None
    # Size, schema and rules the output must satisfy before the run goes on.
    output: OutputContract = OutputContract()


@dataclasses.dataclass(frozen=True)
class ConflictRule:
    when: Condition
    choose: str


@dataclasses.dataclass(frozen=True)
class Aggregate:
    strategy: str = "collect"  # collect | vote | quorum | first_success | synthesizer
    field: str = ""  # the data field votes and conflicts are about
    quorum: int = 0
    synthesizer: Step | None = None
    on_conflict: str = "fail"  # rule | highest_confidence | synthesizer | human | fail
    rules: tuple[ConflictRule, ...] = ()
    approver_role: str = "approver"
    on_branch_failure: str = "fail"  # fail | continue
    min_success: int = 1


@dataclasses.dataclass(frozen=True)
class Sequential:
    """Steps in order, each fed by an earlier output, with conditions and routes."""

    steps: tuple[Step, ...]
    pattern: ClassVar[Pattern] = Pattern.SEQUENTIAL


@dataclasses.dataclass(frozen=True)
class Concurrent:
    """Branches at once, fanned in by the aggregate."""

    branches: tuple[Step, ...]
    aggregate: Aggregate = Aggregate()
    pattern: ClassVar[Pattern] = Pattern.CONCURRENT


@dataclasses.dataclass(frozen=True)
class SpeakerRule:
    when: Condition
    speaker: str


@dataclasses.dataclass(frozen=True)
class GroupChat:
    participants: tuple[Step, ...]
    manager: str = "round_robin"  # round_robin | rules | selector
    rules: tuple[SpeakerRule, ...] = ()
    selector: Step | None = None
    max_rounds: int = 10
    until: Condition | None = None
    decider: str = ""
    pattern: ClassVar[Pattern] = Pattern.GROUP_CHAT

    def participant(self, name: str) -> Step:
        return next(step for step in self.participants if step.agent == name)


@dataclasses.dataclass(frozen=True)
class ContextPolicy:
    mode: str = "full"  # full | last_n | fields
    last_n: int = 0
    fields: tuple[str, ...] = ()
    strip_tool_calls: bool = True


@dataclasses.dataclass(frozen=True)
class Edge:
    source: str
    target: str
    context: ContextPolicy = ContextPolicy()


@dataclasses.dataclass(frozen=True)
class HandoffRoute:
    source: str
    target: str
    when: Condition


@dataclasses.dataclass(frozen=True)
class Handoff:
    entry: str
    agents: tuple[Step, ...]
    edges: tuple[Edge, ...]
    routes: tuple[HandoffRoute, ...] = ()
    max_hops: int = 5
    max_visits: int = 1
    escalate_below: float | None = None
    escalation_target: str = ""
    pattern: ClassVar[Pattern] = Pattern.HANDOFF

    def agent(self, name: str) -> Step:
        return next(step for step in self.agents if step.agent == name)

    def edge(self, source: str, target: str) -> Edge | None:
        return next((e for e in self.edges if e.source == source and e.target == target), None)

    def targets(self, source: str) -> list[str]:
        return [edge.target for edge in self.edges if edge.source == source]


# The largest run input (serialized) a workflow takes, unless its `limits` say otherwise.
DEFAULT_MAX_INPUT_BYTES = 256 * 1024


@dataclasses.dataclass(frozen=True)
class Limits:
    max_input_bytes: int = DEFAULT_MAX_INPUT_BYTES


@dataclasses.dataclass(frozen=True)
class Budget:
    max_steps: int = 0
    max_hops: int = 0
    max_tokens: int = 0
    max_cost_micros: int = 0


# The part of a workflow its pattern defines: one type per pattern.
Flow = Sequential | Concurrent | GroupChat | Handoff
F = TypeVar("F", Sequential, Concurrent, GroupChat, Handoff)


@dataclasses.dataclass(frozen=True)
class WorkflowSpec:
    name: str
    description: str
    timeout: float | None
    budget: Budget
    document: Document
    flow: Flow
    # (path, agent) of every agent named, e.g. ("steps[2].agent", "summary-writer").
    agent_refs: tuple[tuple[str, str], ...] = ()
    limits: Limits = Limits()

    @property
    def pattern(self) -> Pattern:
        return self.flow.pattern

    @property
    def steps(self) -> tuple[Step, ...]:
        return self._flow(Sequential).steps

    @property
    def branches(self) -> tuple[Step, ...]:
        return self._flow(Concurrent).branches

    @property
    def aggregate(self) -> Aggregate:
        return self._flow(Concurrent).aggregate

    @property
    def chat(self) -> GroupChat:
        return self._flow(GroupChat)

    @property
    def handoff(self) -> Handoff:
        return self._flow(Handoff)

    def _flow(self, kind: type[F]) -> F:
        if not isinstance(self.flow, kind):
            raise TypeError(f"a {self.pattern} workflow has no {kind.pattern} part")
        return self.flow

    @property
    def agents(self) -> list[str]:
        return list(dict.fromkeys(agent for _, agent in self.agent_refs))

    @property
    def hop_limit(self) -> int | None:
        """The handoff hops a run may take: the graph's bound, lowered by the budget's
        (None when neither bounds them)."""
        limits = [self.budget.max_hops] if self.budget.max_hops else []
        if isinstance(self.flow, Handoff):
            limits.append(self.flow.max_hops)
        return min(limits) if limits else None

    @property
    def etag(self) -> str:
        canonical = json.dumps(self.document, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()
