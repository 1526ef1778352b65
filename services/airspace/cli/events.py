"""One readable line per run event: what happened, with its reasons.

Shared by the live view (`airspace run`, `runs watch`) and the path tree (`runs show`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.text import Text

from airspace.agent.v1 import agent_pb2
from airspace.cli.output import (
    enum_label,
    format_duration,
    seconds,
    shorten,
    state_text,
    status_text,
    struct_text,
)
from airspace.v1 import run_pb2

_SUMMARY = 80
_VERDICT_STYLES = {"ALLOW": "green", "DENY": "bold red", "REQUIRE_APPROVAL": "yellow"}


def offset(event: run_pb2.RunEvent, origin: float) -> str:
    """The event's time as `+1.234s` since `origin` (epoch seconds)."""
    return f"+{max(0.0, event.time.ToMicroseconds() / 1e6 - origin):.3f}s"


def live_line(event: run_pb2.RunEvent, origin: float) -> Text:
    """`+0.412s  s0001-extract  extractor  step extract completed in 380ms …`"""
    return Text.assemble(
        (f"{offset(event, origin):>9}", "dim"),
        "  ",
        (f"{event.step_key or '-':<16}", "blue"),
        "  ",
        (f"{event.agent or '-':<14}", "cyan"),
        "  ",
        describe(event),
    )


def output_summary(output: agent_pb2.FinalOutput) -> str:
    """The text parts of an agent's output, else its data, shortened to one line."""
    texts = [part.text for part in output.message.parts if part.HasField("text")]
    if texts:
        return shorten(" ".join(texts), _SUMMARY)
    if output.HasField("data"):
        return struct_text(output.data, _SUMMARY)
    return ""


def describe(event: run_pb2.RunEvent) -> Text:
    kind = event.WhichOneof("kind")
    render = _RENDERERS.get(kind)
    return render(getattr(event, kind)) if render else Text(kind or "event", style="dim")


def _state_changed(e: run_pb2.RunStateChanged) -> Text:
    text = Text("run ")
    if getattr(e, "from"):
        text.append_text(state_text(getattr(e, "from")))
        text.append(" → ")
    text.append_text(state_text(e.to))
    if e.reason:
        text.append(f" ({e.reason})", style="dim")
    if e.HasField("error") and e.error.code:
        text.append(f": {status_text(e.error)}", style="red")
    return text


def _step_started(e: run_pb2.StepStarted) -> Text:
    text = Text.assemble("step ", (e.step_name, "bold"), f" started, attempt {e.attempt}")
    if e.branch:
        text.append(f", branch {e.branch}")
    if e.agent_version:
        text.append(f" (agent v{e.agent_version})", style="dim")
    return text


def _step_completed(e: run_pb2.StepCompleted) -> Text:
    text = Text.assemble(
        "step ",
        (e.step_name, "bold"),
        (" completed", "green"),
        f" in {format_duration(seconds(e.duration))}",
    )
    if e.attempt > 1:
        text.append(f" on attempt {e.attempt}")
    if e.output.HasField("confidence"):
        text.append(f", confidence {e.output.confidence:.2f}")
    summary = output_summary(e.output)
    if summary:
        text.append(f": {summary}", style="dim")
    return text


def _step_failed(e: run_pb2.StepFailed) -> Text:
    return Text.assemble(
        "step ",
        (e.step_name, "bold"),
        (f" attempt {e.attempt} failed", "red"),
        f" after {format_duration(seconds(e.duration))}: {status_text(e.error)}",
        (" (will retry)" if e.will_retry else " (no retry)", "dim"),
    )


def _routing(e: run_pb2.RoutingDecision) -> Text:
    kind = enum_label(run_pb2.RoutingKind, e.kind).lower().replace("_", " ")
    text = Text.assemble(("route ", "magenta"), f"{kind}: ")
    text.append(f"→ {e.chosen}" if e.chosen else "run ends", style="bold")
    if e.decided_by:
        text.append(f" by {e.decided_by}")
    if e.reason:
        text.append(f" — {e.reason}")
    if e.candidates:
        text.append(f" [candidates: {', '.join(e.candidates)}]", style="dim")
    if e.expression:
        text.append(f" when {e.expression}", style="dim")
    return text


def _guardrail(e: run_pb2.GuardrailVerdict) -> Text:
    verdict = enum_label(run_pb2.Verdict, e.verdict)
    text = Text.assemble(
        "guardrail ", (e.checkpoint, "bold"), ": ", (verdict, _VERDICT_STYLES.get(verdict, ""))
    )
    for reason in e.reasons:
        text.append(f" {reason.code}")
        if reason.rule_id:
            text.append(f"({reason.rule_id})", style="dim")
        if reason.message:
            text.append(f" {reason.message}")
    if e.obligations_applied:
        text.append(f"; applied: {', '.join(e.obligations_applied)}", style="yellow")
    if e.bundle_version:
        text.append(f" [bundle {e.bundle_version}]", style="dim")
    return text


def _retry(e: run_pb2.RetryScheduled) -> Text:
    text = Text.assemble(
        ("retry", "yellow"),
        f": attempt {e.next_attempt} in {format_duration(seconds(e.backoff))}",
    )
    if e.reason:
        text.append(f" — {e.reason}")
    return text


def _handoff(e: run_pb2.Handoff) -> Text:
    outcome = ("accepted", "green") if e.accepted else ("refused", "red")
    text = Text.assemble("handoff ", (f"{e.from_agent} → {e.to_agent}", "bold"), " ", outcome)
    if e.hop:
        text.append(f" (hop {e.hop})")
    if e.reason:
        text.append(f": {e.reason}")
    if e.decision_reason:
        text.append(f" — {e.decision_reason}", style="dim")
    return text


def _approval_requested(e: run_pb2.ApprovalRequested) -> Text:
    text = Text.assemble(
        ("waiting for approval ", "yellow"), (e.approval_id, "bold"), f" by role {e.role}"
    )
    if e.summary:
        text.append(f": {e.summary}")
    if e.HasField("expire_time"):
        text.append(f" (expires {e.expire_time.ToJsonString()})", style="dim")
    return text


def _approval_decided(e: run_pb2.ApprovalDecided) -> Text:
    outcome = enum_label(run_pb2.ApprovalOutcome, e.outcome)
    style = "green" if outcome in ("APPROVED", "EDITED") else "red"
    text = Text.assemble("approval ", (e.approval_id, "bold"), " ", (outcome, style))
    if e.decided_by:
        text.append(f" by {e.decided_by}")
    if e.comment:
        text.append(f": {e.comment}")
    return text


def _conflict(e: run_pb2.Conflict) -> Text:
    answers = ", ".join(f"{branch}={answer}" for branch, answer in sorted(e.answers.items()))
    text = Text.assemble(("conflict", "yellow"), f" in {e.step_name}: {answers}")
    if e.resolution:
        text.append(f"; resolved by {e.resolved_by} → {e.resolution}")
    elif e.resolved_by:
        text.append(f"; resolved by the {e.resolved_by}")
    else:
        text.append(" — waiting for a human")
    return text


def _progress(e: run_pb2.AgentProgress) -> Text:
    percent = f" {e.progress.fraction:.0%}" if e.progress.fraction else ""
    return Text(f"progress{percent}: {e.progress.message}", style="dim")


def _partial(e: agent_pb2.PartialOutput) -> Text:
    part = e.part
    content = part.text if part.HasField("text") else struct_text(part.data, _SUMMARY)
    return Text(f"partial output: {shorten(content, _SUMMARY)}", style="dim")


def _action_requested(e: run_pb2.ActionRequested) -> Text:
    request = e.request
    text = Text.assemble("action ", (request.name, "bold"), " requested")
    if request.reason:
        text.append(f": {request.reason}")
    if request.HasField("arguments"):
        text.append(f" {struct_text(request.arguments, _SUMMARY)}", style="dim")
    return text


def _action_decided(e: run_pb2.ActionDecided) -> Text:
    decision = e.decision
    verdict = enum_label(agent_pb2.ActionVerdict, decision.verdict)
    style = {"ALLOWED": "green", "DENIED": "red"}.get(verdict, "yellow")
    text = Text.assemble("action ", (decision.action_id, "bold"), " ", (verdict, style))
    if decision.reason:
        text.append(f": {decision.reason}")
    if decision.approval_id:
        text.append(f" (approval {decision.approval_id})")
    return text


def _usage(e: agent_pb2.Usage) -> Text:
    text = f"usage: {e.input_tokens} in / {e.output_tokens} out tokens"
    if e.cost_micros:
        text += f", cost {e.cost_micros / 1e6:.4f}"
    if e.model:
        text += f" ({e.model})"
    return Text(text, style="dim")


def _transcript(e: agent_pb2.Message) -> Text:
    texts = " ".join(part.text for part in e.parts if part.HasField("text"))
    return Text.assemble((e.author or "?", "bold"), f" says: {shorten(texts, _SUMMARY)}")


def _run_output(e: run_pb2.RunOutput) -> Text:
    return Text.assemble(("output", "green"), f": {struct_text(e.output, _SUMMARY)}")


def _taken_over(e: run_pb2.LeaseTakenOver) -> Text:
    return Text.assemble(
        ("taken over", "yellow"),
        " by ",
        (e.new_owner, "bold"),
        f" from {e.previous_owner}",
        (f" — {e.reason}", "dim"),
    )


# Each takes the event body its key names.
_RENDERERS: dict[str, Callable[[Any], Text]] = {
    "run_state_changed": _state_changed,
    "step_started": _step_started,
    "step_completed": _step_completed,
    "step_failed": _step_failed,
    "routing_decision": _routing,
    "guardrail_verdict": _guardrail,
    "retry_scheduled": _retry,
    "handoff": _handoff,
    "approval_requested": _approval_requested,
    "approval_decided": _approval_decided,
    "conflict": _conflict,
    "agent_progress": _progress,
    "partial_output": _partial,
    "action_requested": _action_requested,
    "action_decided": _action_decided,
    "usage_reported": _usage,
    "transcript_message": _transcript,
    "run_output": _run_output,
    "lease_taken_over": _taken_over,
}
