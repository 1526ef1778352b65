"""The path a run took, rebuilt from its event log as a tree (a pure function of the events).

Run-level events (state changes, routing without a step, the output) sit on the
trunk in log order; each step is one node with its attempts, duration and outcome,
holding the events about it; branches of a concurrent step are grouped under it.
A failed run ends with a line naming the step, agent and reason that failed it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from rich.text import Text
from rich.tree import Tree

from airspace.cli.events import describe, offset
from airspace.cli.output import format_duration, seconds, status_text
from airspace.v1 import run_pb2

# Chatter that does not change the path; `airspace run` shows it live.
_NOISE = frozenset({"partial_output", "agent_progress", "usage_reported"})
_MARKS = {
    "completed": ("✓", "green"),
    "failed": ("✗", "red"),
    "running": ("…", "cyan"),
    "waiting": ("⏸", "yellow"),
}


@dataclasses.dataclass
class _Step:
    key: str
    name: str = ""
    agent: str = ""
    branch: str = ""
    attempts: int = 0
    duration: float | None = None
    outcome: str = "running"
    events: list[run_pb2.RunEvent] = dataclasses.field(default_factory=list)

    def absorb(self, event: run_pb2.RunEvent) -> None:
        kind = event.WhichOneof("kind")
        # The oneof member the event holds; each kind has a message type of its own.
        body: Any = getattr(event, kind) if kind else None
        self.agent = event.agent or self.agent
        if kind in ("step_started", "step_completed", "step_failed"):
            self.name = body.step_name or self.name
            self.branch = body.branch or self.branch
            self.attempts = max(self.attempts, body.attempt)
        if kind == "step_started":
            self.outcome = "running"
        elif kind == "step_completed":
            self.outcome, self.duration = "completed", seconds(body.duration)
        elif kind == "step_failed" and not body.will_retry:
            self.outcome, self.duration = "failed", seconds(body.duration)
        elif kind == "approval_requested":
            self.outcome = "waiting"
        elif kind == "guardrail_verdict" and body.verdict == run_pb2.VERDICT_DENY:
            self.outcome = "failed"
        if kind not in _NOISE:
            self.events.append(event)

    def label(self) -> Text:
        mark, style = _MARKS[self.outcome]
        text = Text.assemble((f"{mark} ", style), "step ", (self.name or self.key, "bold"))
        if self.branch:
            text.append(f" branch {self.branch}", style="magenta")
        text.append(f" · agent {self.agent or '-'}", style="cyan")
        if self.attempts > 1:
            text.append(f" · {self.attempts} attempts", style="yellow")
        if self.duration is not None:
            text.append(f" · {format_duration(self.duration)}")
        text.append(f"  [{self.key}]", style="dim")
        return text


def render_path(events: Iterable[run_pb2.RunEvent], title: str = "path") -> Tree:
    ordered = sorted(events, key=lambda e: e.sequence)
    origin = ordered[0].time.ToMicroseconds() / 1e6 if ordered else 0.0
    steps: dict[str, _Step] = {}
    for event in ordered:
        if event.step_key:
            steps.setdefault(event.step_key, _Step(event.step_key)).absorb(event)

    tree = Tree(Text(title, style="bold"))
    concurrent: dict[str, Tree] = {}
    placed: set[str] = set()
    for event in ordered:
        if not event.step_key:
            if event.WhichOneof("kind") not in _NOISE:
                tree.add(_line(event, origin))
            continue
        if event.step_key in placed:
            continue
        placed.add(event.step_key)
        step = steps[event.step_key]
        parent = tree
        if step.branch:
            if step.name not in concurrent:
                concurrent[step.name] = tree.add(
                    Text.assemble("⑂ concurrent ", (step.name, "bold"))
                )
            parent = concurrent[step.name]
        node = parent.add(step.label())
        for step_event in step.events:
            node.add(_line(step_event, origin))

    failure = _failure(ordered)
    if failure is not None:
        tree.add(failure)
    return tree


def _line(event: run_pb2.RunEvent, origin: float) -> Text:
    return Text.assemble((f"{offset(event, origin)}  ", "dim"), describe(event))


def _failure(events: list[run_pb2.RunEvent]) -> Text | None:
    """Where a failed run failed: the last unretried step failure or denial before it ended."""
    ended = next(
        (
            e
            for e in reversed(events)
            if e.WhichOneof("kind") == "run_state_changed"
            and e.run_state_changed.to == run_pb2.RUN_STATE_FAILED
        ),
        None,
    )
    if ended is None:
        return None
    culprit = next((e for e in reversed(events) if _is_fatal(e)), None)
    reason = _reason(culprit) if culprit else ""
    if ended.run_state_changed.HasField("error") and ended.run_state_changed.error.code:
        reason = reason or status_text(ended.run_state_changed.error)
    reason = reason or ended.run_state_changed.reason or "unknown reason"
    where = culprit or ended
    text = Text("✗ FAILED", style="bold red")
    if where.step_key:
        text.append(f" at step {where.step_key}")
    if where.agent:
        text.append(f" (agent {where.agent})")
    text.append(f": {reason}")
    return text


def _is_fatal(event: run_pb2.RunEvent) -> bool:
    kind = event.WhichOneof("kind")
    if kind == "step_failed":
        return not event.step_failed.will_retry
    return kind == "guardrail_verdict" and event.guardrail_verdict.verdict == run_pb2.VERDICT_DENY


def _reason(event: run_pb2.RunEvent) -> str:
    if event.WhichOneof("kind") == "step_failed":
        return status_text(event.step_failed.error)
    verdict = event.guardrail_verdict
    codes = ", ".join(f"{r.code}({r.rule_id})" if r.rule_id else r.code for r in verdict.reasons)
    return f"denied at {verdict.checkpoint}" + (f": {codes}" if codes else "")
