"""What the collector stores and the interface every span store implements."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, Protocol

# Attributes lifted into their own indexed columns so runs, workflows and agents are queryable.
RUN_ID_ATTRIBUTE = "airspace.run.id"
WORKFLOW_ATTRIBUTE = "airspace.workflow.name"
AGENT_ATTRIBUTE = "gen_ai.agent.name"


@dataclasses.dataclass(frozen=True)
class SpanEvent:
    name: str
    time_unix_nano: int
    attributes: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class SpanRecord:
    """One span flattened from OTLP: hex ids, JSON-ready attributes, unix-nano times."""

    trace_id: str
    span_id: str
    parent_span_id: str
    name: str
    service: str
    kind: str
    start_unix_nano: int
    end_unix_nano: int
    status_code: str
    status_message: str
    attributes: dict[str, Any]
    events: tuple[SpanEvent, ...] = ()
    # Who exported it (airspace.mesh.telemetry_credentials.Sender.label): "service:NAME"
    # or "agent:TENANT/NAME".
    sender: str = ""

    @property
    def from_service(self) -> bool:
        return self.sender.startswith("service:")

    @property
    def run_id(self) -> str | None:
        return _text(self.attributes.get(RUN_ID_ATTRIBUTE))

    @property
    def workflow(self) -> str | None:
        return _text(self.attributes.get(WORKFLOW_ATTRIBUTE))

    @property
    def agent(self) -> str | None:
        return _text(self.attributes.get(AGENT_ATTRIBUTE))


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


@dataclasses.dataclass(frozen=True)
class SpanFilter:
    """Search filters; they combine with AND and empty ones match everything."""

    service: str = ""
    name_prefix: str = ""
    run_id: str = ""
    workflow: str = ""
    agent: str = ""
    status_code: str = ""
    start_after: int | None = None  # inclusive, unix nanos
    start_before: int | None = None  # exclusive, unix nanos


@dataclasses.dataclass(frozen=True)
class SpanCursor:
    """Position of the last span of a search page (results run newest first)."""

    start_unix_nano: int
    sequence: int


class SpanStore(Protocol):
    async def add(self, spans: Sequence[SpanRecord]) -> int:
        """Stores spans, ignoring ones already stored; returns how many were new."""
        ...

    async def trace(self, trace_id: str) -> list[SpanRecord]:
        """Every span of a trace, ordered by start time."""
        ...

    async def run_trace_id(self, run_id: str) -> str | None:
        """The trace of the earliest span a mesh service sent naming the run, or None
        (an agent's span naming a run decides nothing)."""
        ...

    async def search(
        self, where: SpanFilter, after: SpanCursor | None, limit: int
    ) -> tuple[list[SpanRecord], SpanCursor | None]:
        """Up to `limit` matching spans, newest first, and the cursor of the next page if any."""
        ...

    async def close(self) -> None: ...
