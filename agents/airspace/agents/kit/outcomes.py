"""What a handler returns or raises: the three ways a step attempt ends, plus artifacts."""

from __future__ import annotations

import dataclasses

from airspace.agent.v1 import agent_pb2

ERROR_KINDS = ("INVALID_INPUT", "DEPENDENCY", "REJECTED", "PENDING_APPROVAL", "INTERNAL")


@dataclasses.dataclass(frozen=True)
class Artifact:
    """A document the agent produced: text, data or a file by URI (one of them)."""

    name: str
    text: str | None = None
    data: dict | None = None
    uri: str | None = None
    media_type: str = ""

    def __post_init__(self):
        if sum(value is not None for value in (self.text, self.data, self.uri)) != 1:
            raise ValueError(f"artifact {self.name!r} needs exactly one of text, data or uri")


@dataclasses.dataclass(frozen=True)
class Reply:
    """The step's result; becomes a FinalOutput."""

    text: str = ""
    data: dict | None = None
    confidence: float | None = None
    artifacts: tuple[Artifact, ...] | list[Artifact] = ()

    def __post_init__(self):
        if self.confidence is not None and not 0.0 <= self.confidence <= 1.0:
            raise ValueError("confidence must be between 0 and 1")


@dataclasses.dataclass(frozen=True)
class Handoff:
    """A request to hand the task to another agent; becomes a HandoffRequest.

    The router checks `target` against the workflow's handoff graph."""

    target: str
    reason: str
    text: str = ""
    data: dict | None = None

    def __post_init__(self):
        if not self.target:
            raise ValueError("a handoff needs a target agent")


class AgentFailure(Exception):
    """Raised by a handler that cannot do its step; becomes an AgentError.

    `message` reaches operators, so it must not contain the input or any PII."""

    def __init__(self, kind: str, message: str, retryable: bool = False):
        kind = kind.removeprefix("AGENT_ERROR_KIND_")
        if kind not in ERROR_KINDS:
            raise ValueError(f"unknown failure kind {kind!r}; use one of {', '.join(ERROR_KINDS)}")
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.retryable = retryable

    def to_proto(self) -> agent_pb2.AgentError:
        return agent_pb2.AgentError(
            kind=f"AGENT_ERROR_KIND_{self.kind}",
            message=self.message,
            retryable=self.retryable,
        )
