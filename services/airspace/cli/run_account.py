"""A finished run told as a reader wants it: the path with its reasons, what guardrails
decided and masked, conflicts and how they were resolved, the people who decided, the
time each step took, the output as text, and where to look next.

A pure function of the run and its events, like the path tree of `runs show`.
"""

from __future__ import annotations

from collections import defaultdict

from google.protobuf import json_format
from rich.console import Group, RenderableType
from rich.text import Text

from airspace.cli.events import describe
from airspace.cli.output import (
    enum_label,
    format_duration,
    seconds,
    state_text,
    status_text,
)
from airspace.v1 import run_pb2

_INDENT = "  "


def account(run: run_pb2.Run, events: list[run_pb2.RunEvent]) -> Group:
    parts: list[RenderableType] = [_headline(run)]
    for title, lines in (
        ("path", _path(events)),
        ("guardrails", _guardrails(events)),
        ("conflicts", _of_kind(events, "conflict")),
        ("people", _of_kind(events, "approval_requested", "approval_decided")),
        ("failures", _failures(events)),
        ("time per step", _durations(events)),
    ):
        if lines:
            parts.append(Text(title, style="bold underline"))
            parts.extend(Text.assemble(_INDENT, line) for line in lines)
    output = output_text(run)
    if output:
        parts.append(Text("output", style="bold underline"))
        parts.extend(Text(f"{_INDENT}{line}") for line in output.splitlines())
    parts.append(Text("look next", style="bold underline"))
    parts.extend(Text(f"{_INDENT}{hint}", style="cyan") for hint in _hints(run))
    return Group(*parts)


def output_text(run: run_pb2.Run) -> str:
    """The run's output as a person reads it: its text, else its data as `key: value` lines."""
    if not run.HasField("output"):
        return ""
    output = json_format.MessageToDict(run.output)
    if output.get("text"):
        return str(output["text"])
    data = output.get("data") or {}
    return "\n".join(f"{key}: {value}" for key, value in data.items())


def _headline(run: run_pb2.Run) -> Text:
    line = Text.assemble(("run ", "bold"), (run.run_id, "bold"), " ", state_text(run.state))
    if run.HasField("end_time") and run.HasField("create_time"):
        took = (run.end_time.ToMicroseconds() - run.create_time.ToMicroseconds()) / 1e6
        line.append(f" in {format_duration(max(0.0, took))}")
    line.append(f" · {run.usage.steps} steps")
    if run.usage.hops:
        line.append(f" · {run.usage.hops} hops")
    if run.HasField("error") and run.error.code:
        line.append(f" · {status_text(run.error)}", style="red")
    return line


def _path(events: list[run_pb2.RunEvent]) -> list[Text]:
    """Every routing decision and handoff, in order, with what decided it and why."""
    return [describe(e) for e in events if e.WhichOneof("kind") in ("routing_decision", "handoff")]


def _guardrails(events: list[run_pb2.RunEvent]) -> list[Text]:
    """Verdicts counted by outcome, and per agent what policy masked before it saw the data."""
    verdicts: dict[str, int] = defaultdict(int)
    masked: dict[str, set[str]] = defaultdict(set)
    for event in events:
        if event.WhichOneof("kind") != "guardrail_verdict":
            continue
        verdict = event.guardrail_verdict
        verdicts[enum_label(run_pb2.Verdict, verdict.verdict)] += 1
        masked[event.agent or "-"].update(verdict.obligations_applied)
    if not verdicts:
        return []
    counted = ", ".join(f"{count} {label}" for label, count in sorted(verdicts.items()))
    lines = [Text(f"{sum(verdicts.values())} checks: {counted}")]
    for agent, obligations in sorted(masked.items()):
        if obligations:
            lines.append(
                Text.assemble(
                    ("masked ", "yellow"), f"for {agent}: ", ", ".join(sorted(obligations))
                )
            )
    return lines


def _of_kind(events: list[run_pb2.RunEvent], *kinds: str) -> list[Text]:
    return [describe(e) for e in events if e.WhichOneof("kind") in kinds]


def _failures(events: list[run_pb2.RunEvent]) -> list[Text]:
    return [
        Text.assemble((f"{e.step_key} ", "red"), describe(e))
        for e in events
        if e.WhichOneof("kind") == "step_failed" and not e.step_failed.will_retry
    ]


def _durations(events: list[run_pb2.RunEvent]) -> list[Text]:
    lines = []
    for event in events:
        if event.WhichOneof("kind") == "step_completed":
            took, mark = seconds(event.step_completed.duration), ("✓", "green")
        elif event.WhichOneof("kind") == "step_failed" and not event.step_failed.will_retry:
            took, mark = seconds(event.step_failed.duration), ("✗", "red")
        else:
            continue
        lines.append(
            Text.assemble(
                mark, f" {format_duration(took):>7}  {event.step_key}  ", (event.agent, "cyan")
            )
        )
    return lines


def _hints(run: run_pb2.Run) -> list[str]:
    return [
        f"airspace runs show {run.run_id}      the whole path, event by event",
        f"airspace trace {run.run_id}          its spans across gateway, router and agents",
        f"airspace approvals list --run {run.run_id} --state decided",
    ]
