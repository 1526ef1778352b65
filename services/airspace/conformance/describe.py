"""One-line descriptions of what the suite sent and what came back, for the report."""

from __future__ import annotations

from google.protobuf import json_format

from airspace.agent.v1 import agent_pb2

_TEXT_LIMIT = 60


def shorten(text: str, limit: int = _TEXT_LIMIT) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _text(message: agent_pb2.Message) -> str:
    return "\n".join(p.text for p in message.parts if p.WhichOneof("content") == "text")


def _keys(struct) -> str:
    keys = sorted(json_format.MessageToDict(struct))
    return "{" + ", ".join(keys) + "}" if keys else "{}"


def request(request: agent_pb2.InvokeRequest) -> str:
    kind = request.WhichOneof("kind")
    if kind == "start":
        start = request.start
        parts = [
            f"idempotency_key={start.idempotency_key!r}",
            f"run_id={start.run_id!r}",
            f"step_key={start.step_key!r}",
        ]
        text = _text(start.input)
        parts.append(f"input={shorten(text)!r}" if text else "input=<empty>")
        if start.allowed_handoffs:
            parts.append(f"allowed_handoffs={list(start.allowed_handoffs)}")
        if start.allowed_actions:
            parts.append(f"allowed_actions={list(start.allowed_actions)}")
        return "InvokeStart " + " ".join(parts)
    if kind == "action_decision":
        decision = request.action_decision
        verdict = agent_pb2.ActionVerdict.Name(decision.verdict).removeprefix("ACTION_VERDICT_")
        return f"ActionDecision action_id={decision.action_id!r} verdict={verdict}"
    return "InvokeRequest with nothing set"


def event(event: agent_pb2.InvokeEvent) -> str:
    kind = event.WhichOneof("kind")
    head = f"#{event.sequence} {kind or '<no kind>'}"
    if kind == "progress":
        state = agent_pb2.TaskState.Name(event.progress.state).removeprefix("TASK_STATE_")
        return f"{head} {shorten(event.progress.message)!r} {event.progress.fraction:.2f} {state}"
    if kind == "partial":
        return f"{head} {shorten(event.partial.part.text)!r}"
    if kind == "usage":
        usage = event.usage
        return f"{head} in={usage.input_tokens} out={usage.output_tokens} cost={usage.cost_micros}"
    if kind == "action_request":
        action = event.action_request
        return f"{head} action_id={action.action_id!r} name={action.name!r} arguments={_keys(action.arguments)}"
    if kind == "final":
        final = event.final
        confidence = f" confidence={final.confidence:.2f}" if final.HasField("confidence") else ""
        return (
            f"{head} text={shorten(_text(final.message))!r} data={_keys(final.data)}"
            f" artifacts={len(final.artifacts)}{confidence}"
        )
    if kind == "handoff":
        handoff = event.handoff
        return f"{head} target={handoff.target!r} reason={shorten(handoff.reason)!r}"
    if kind == "error":
        error = event.error
        error_kind = agent_pb2.AgentErrorKind.Name(error.kind).removeprefix("AGENT_ERROR_KIND_")
        return f"{head} {error_kind} retryable={error.retryable} {shorten(error.message)!r}"
    return head


def status(code_name: str, details: str, violations: list[tuple[str, str]]) -> str:
    text = f"status {code_name}"
    if details:
        text += f": {shorten(details, 100)}"
    if violations:
        text += f" (field violations: {', '.join(field for field, _ in violations)})"
    return text
